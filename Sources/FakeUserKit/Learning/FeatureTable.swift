/// A feature table in memory: one row per user, numeric columns row-major.
public struct FeatureTable: Sendable {
    public var ids: [String]
    /// 0/1 per row, or nil when the input has no `Fake` column.
    public var labels: [UInt8]?
    public var names: [String]
    /// Row-major: row r's value of feature f is `values[r * names.count + f]`.
    public var values: [Double]
    /// The columns of `names` that fu-featurize made per event type (a model records
    /// them: only they read as 0 when a table to score lacks them).
    public var eventTypeColumns: Set<String> = []

    public var rowCount: Int { ids.count }
    public var featureCount: Int { names.count }

    public init(ids: [String], labels: [UInt8]?, names: [String], values: [Double]) {
        self.ids = ids
        self.labels = labels
        self.names = names
        self.values = values
    }

    public func value(row: Int, feature: Int) -> Double {
        values[row * names.count + feature]
    }

    /// The table with only `columns`, in that order; a column in `fillMissing` that the
    /// table lacks reads as 0 (as `read` fills it from a file).
    public func selecting(_ columns: [String], fillMissing: Set<String>) throws -> FeatureTable {
        let position = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        let sources = try columns.map { name -> Int? in
            if let index = position[name] { return index }
            guard fillMissing.contains(name) else { throw ToolError.data("missing feature column '\(name)'") }
            return nil
        }
        var selected = [Double](repeating: 0, count: rowCount * columns.count)
        for row in 0..<rowCount {
            for (column, source) in sources.enumerated() {
                if let source { selected[row * columns.count + column] = values[row * names.count + source] }
            }
        }
        var table = FeatureTable(ids: ids, labels: labels, names: columns, values: selected)
        table.eventTypeColumns = eventTypeColumns.intersection(columns)
        return table
    }

    /// The labels, or the "missing Fake column" error every learning tool gives.
    public func requireLabels(_ location: InputLocation) throws -> [UInt8] {
        guard let labels else { throw ToolError.data("missing required column 'Fake'", at: location) }
        return labels
    }
}

/// Events where features belong (fu-fit < events.csv) get the next step named, not
/// "feature 'Event' is not a number".
public func checkNotEvents(_ reader: TableReader) throws {
    guard reader.column("Event") != nil && reader.column("Category") != nil && reader.column("total_events") == nil else { return }
    let tool = runningToolName
    throw ToolError.data(
        "this is an events table (it has Event and Category columns), not features: run fu-featurize first (fu-featurize events.csv | \(tool) ...)",
        at: reader.location(line: 1))
}

/// The columns that are not features.
public let keyColumns = ["UserId", "Fake"]

extension FeatureTable {
    /// Reads a features table. `features` names the columns to keep, in order (nil: every
    /// column but UserId and Fake); `fillMissing` names columns that may be absent and then
    /// read as 0. Values must be finite numbers; errors name the line and column.
    public static func read(_ reader: TableReader, features requested: [String]? = nil, fillMissing: Set<String> = []) throws -> FeatureTable {
        try checkNotEvents(reader)
        let idColumn = try reader.requireColumn("UserId")
        let labelColumn = try reader.labelColumn()
        let names = requested ?? reader.header.filter { !keyColumns.contains($0) }
        try checkFeatureNames(names)
        var columns: [Int?] = []
        for name in names {
            let column = reader.column(name)
            if column == nil && !fillMissing.contains(name) {
                throw ToolError.data("missing feature column '\(name)'", at: reader.location(line: 1))
            }
            columns.append(column)
        }
        var ids: [String] = []
        var labels: [UInt8] = []
        // Values are gathered in chunks and joined once at the end, each chunk freed as it
        // is copied: a growing array would hold its old and new buffers at once when it
        // doubles (up to twice the table). 64 MB chunks are always their own mapping
        // (glibc's mmap threshold stops at 32 MB), so freeing one returns it to the system.
        let chunkValues = max(names.count, (64 << 20) / MemoryLayout<Double>.stride / max(names.count, 1) * max(names.count, 1))
        var chunks: [[Double]] = []
        var chunk: [Double] = []
        var rowValues = [Double](repeating: 0, count: names.count)
        rows: while let row = try reader.next() {
            let id = row.field(idColumn)
            if id.isEmpty {
                try reader.reject("empty UserId", line: row.line)
                continue
            }
            var label: UInt8 = 0
            if let labelColumn {
                guard let value = try reader.label(row, column: labelColumn) else { continue }
                label = value
            }
            for (index, column) in columns.enumerated() {
                guard let column else {
                    rowValues[index] = 0
                    continue
                }
                let text = row.field(column)
                guard let value = parseDouble(text), value.isFinite else {
                    let shown = String(decoding: text, as: UTF8.self)
                    let problem = parseDouble(text) == nil ? "is not a number" : "is not finite"
                    try reader.reject("feature '\(names[index])' \(problem): '\(shown)'", line: row.line)
                    continue rows
                }
                rowValues[index] = value
            }
            ids.append(String(decoding: id, as: UTF8.self))
            if labelColumn != nil { labels.append(label) }
            if chunk.count + rowValues.count > chunkValues {
                chunks.append(chunk)
                // Small tables never get here: the first chunk grows as an array does.
                chunk = []
                chunk.reserveCapacity(chunkValues)
            }
            chunk.append(contentsOf: rowValues)
        }
        if chunks.isEmpty {
            var table = FeatureTable(ids: ids, labels: labelColumn == nil ? nil : labels, names: names, values: chunk)
            table.eventTypeColumns = FeatureSet.perEventTypeColumns(reader.header).intersection(names)
            return table
        }
        chunks.append(chunk)
        chunk = []
        let total = chunks.reduce(0) { $0 + $1.count }
        let values = [Double](unsafeUninitializedCapacity: total) { buffer, count in
            for index in chunks.indices {
                chunks[index].withUnsafeBufferPointer { part in
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[count...]).initialize(fromContentsOf: part)
                    count += part.count
                }
                chunks[index] = []
            }
        }
        var table = FeatureTable(ids: ids, labels: labelColumn == nil ? nil : labels, names: names, values: values)
        table.eventTypeColumns = FeatureSet.perEventTypeColumns(reader.header).intersection(names)
        return table
    }
}

/// Feature names as asked for (`--features`) or read: never the key or the label (a model
/// trained on its own label scores perfectly and means nothing), and each once.
func checkFeatureNames(_ names: [String]) throws {
    if let key = names.first(where: { keyColumns.contains($0) }) {
        throw ToolError.usage("'\(key)' is the \(key == "Fake" ? "label" : "key"), not a feature: leave it out of --features")
    }
    var seen = Set<String>()
    if let twice = names.first(where: { !seen.insert($0).inserted }) {
        throw ToolError.usage("feature '\(twice)' is named twice; name each feature once")
    }
}
