/// The columns of a merged table and where each input's value for each column comes from.
struct MergePlan: Equatable {
    var columns: [String]
    /// Per input, per output column: the input's column, or nil for a per-event-type
    /// column the input lacks (its value is 0: that bucket had no event of the type).
    var sources: [[Int?]]

    /// Identical headers merge as they are. Feature tables from `fu-featurize` whose
    /// per-type columns differ (a bucket without a rare event type) merge into the union of
    /// the types, laid out as one fu-featurize over all the events lays them out. Anything
    /// else is an error naming the first input that differs.
    static func make(headers: [[String]], names: [String]) throws -> MergePlan {
        let first = headers[0]
        if headers.allSatisfy({ $0 == first }) {
            return MergePlan(columns: first, sources: headers.map { $0.indices.map { Optional($0) } })
        }
        let layouts = headers.map(FeatureLayout.init(header:))
        if let base = layouts[0], layouts.allSatisfy({ $0?.leading == base.leading }) {
            let types = Set(layouts.flatMap { $0!.types }).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            let columns = base.leading + FeatureSet.columnNames(types: types)
            let sources = headers.map { header in
                let index = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
                return columns.map { index[$0] }
            }
            return MergePlan(columns: columns, sources: sources)
        }
        let culprit = headers.firstIndex { $0 != first }!
        throw ToolError.data(
            "header does not match \(names[0])'s (\(difference(first, headers[culprit]))); merge tables made by the same tool and options",
            at: InputLocation(file: names[culprit], line: 1))
    }

    private static func difference(_ expected: [String], _ found: [String]) -> String {
        let missing = expected.filter { !found.contains($0) }
        let extra = found.filter { !expected.contains($0) }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing " + missing.map { "'\($0)'" }.joined(separator: ", ")) }
        if !extra.isEmpty { parts.append("extra " + extra.map { "'\($0)'" }.joined(separator: ", ")) }
        return parts.isEmpty ? "the same columns in another order" : parts.joined(separator: "; ")
    }
}

/// A header as fu-featurize writes it without `--events`: UserId, Fake when labelled, the
/// reference columns, per-type counts sorted by name, their ratios, the extended columns.
struct FeatureLayout: Equatable {
    var leading: [String]
    var types: [String]

    init?(header: [String]) {
        guard header.first == "UserId" else { return nil }
        leading = header.count > 1 && header[1] == "Fake" ? ["UserId", "Fake"] : ["UserId"]
        let body = Array(header.dropFirst(leading.count))
        let fixed = FeatureSet.referenceNames.count + FeatureSet.extendedNames.count
        guard body.count >= fixed, Array(body.prefix(FeatureSet.referenceNames.count)) == FeatureSet.referenceNames,
              Array(body.suffix(FeatureSet.extendedNames.count)) == FeatureSet.extendedNames else { return nil }
        let middle = Array(body.dropFirst(FeatureSet.referenceNames.count).dropLast(FeatureSet.extendedNames.count))
        for count in 0...middle.count {
            let types = Array(middle.prefix(count))
            let sorted = zip(types, types.dropFirst()).allSatisfy { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            if sorted && Array(middle.dropFirst(count)) == FeatureSet.ratioNames(types: types) {
                self.types = types
                return
            }
        }
        return nil
    }
}

public struct MergeSummary: Sendable, Equatable {
    public var rows = 0
    public var inputs = 0
}

/// `fu-merge`: a k-way merge of tables sorted by UserId (byte order) into one sorted table.
/// Rows with equal UserIds keep the order of the inputs, then of their rows. An input
/// whose UserIds go backwards is an error naming its line.
public struct Merger {
    /// Each input holds a reader with its buffers and a read-ahead thread (about 6 MB).
    public static let maxInputs = 256
    public var progress: Progress?

    public init(progress: Progress? = nil) {
        self.progress = progress
    }

    /// Opens `inputs` (paths, "-" for stdin) and merges them.
    public func run(inputs: [String], output: ByteOutput, format: TableFormat) throws -> MergeSummary {
        guard inputs.count <= Merger.maxInputs else {
            throw ToolError.usage("at most \(Merger.maxInputs) inputs can be merged at once (\(inputs.count) given); merge in rounds")
        }
        return try run(readers: inputs.map { try TableReader(ByteInput(path: $0)) }, output: output, format: format)
    }

    public func run(readers: [TableReader], output: ByteOutput, format: TableFormat) throws -> MergeSummary {
        guard !readers.isEmpty else { throw ToolError.usage("no inputs to merge") }
        let keyColumns = try readers.map { try $0.requireColumn("UserId") }
        let plan = try MergePlan.make(headers: readers.map(\.header), names: readers.map(\.name))
        let writer = try TableWriter(output, format: format, columns: plan.columns)
        let userColumn = plan.columns.firstIndex(of: "UserId")!

        var rows: [Row?] = try readers.map { try $0.next() }
        var previous: [[UInt8]] = Array(repeating: [], count: readers.count)
        func key(_ input: Int) -> UnsafeBufferPointer<UInt8> { rows[input]!.field(keyColumns[input]) }
        // A binary min-heap of inputs by (UserId, input index).
        func less(_ a: Int, _ b: Int) -> Bool {
            let order = compareIDs(key(a), key(b))
            return order < 0 || (order == 0 && a < b)
        }
        var heap = rows.indices.filter { rows[$0] != nil }
        for start in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(&heap, from: start, less) }

        var summary = MergeSummary(inputs: readers.count)
        while let input = heap.first {
            let row = rows[input]!
            for (column, source) in plan.sources[input].enumerated() {
                if let source {
                    if column == userColumn {
                        try writer.field(bytes: row.field(source))
                    } else {
                        try writer.field(value: row.field(source))
                    }
                } else {
                    try writer.field(0)
                }
            }
            try writer.endRow()
            summary.rows += 1
            if let progress, summary.rows & 0xFFFF == 0 {
                // The inputs are read together in key order, so their mean share read is the whole's.
                let shares = readers.compactMap(\.input.fractionRead)
                progress.tick(
                    rows: summary.rows, bytes: readers.reduce(0) { $0 + $1.input.bytesRead },
                    fraction: shares.count == readers.count ? shares.reduce(0, +) / Double(shares.count) : nil)
            }
            previous[input].removeAll(keepingCapacity: true)
            previous[input].append(contentsOf: key(input))
            rows[input] = try readers[input].next()
            if rows[input] == nil {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            } else {
                let order = previous[input].withUnsafeBufferPointer { compareIDs($0, key(input)) }
                if order > 0 {
                    throw ToolError.data(
                        "input is not sorted by UserId ('\(String(decoding: key(input), as: UTF8.self))' after '\(String(decoding: previous[input], as: UTF8.self))'); fu-featurize writes sorted tables",
                        at: readers[input].location(line: rows[input]!.line))
                }
            }
            if !heap.isEmpty { siftDown(&heap, from: 0, less) }
        }
        progress?.finish()
        return summary
    }

    private func siftDown(_ heap: inout [Int], from start: Int, _ less: (Int, Int) -> Bool) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            if left >= heap.count { return }
            var child = left
            if left + 1 < heap.count && less(heap[left + 1], heap[left]) { child = left + 1 }
            if !less(heap[child], heap[parent]) { return }
            heap.swapAt(child, parent)
            parent = child
        }
    }
}
