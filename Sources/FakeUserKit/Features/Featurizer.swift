/// What `fu-featurize` is asked to do.
public struct FeaturizeOptions: Sendable {
    /// Exactly these per-type columns (others count only in totals and entropies).
    public var events: [String]?
    public var shard: Shard?
    /// Input is sorted by UserId: stream one user at a time in constant memory.
    public var sorted = false

    public init(events: [String]? = nil, shard: Shard? = nil, sorted: Bool = false) {
        self.events = events
        self.shard = shard
        self.sorted = sorted
    }
}

public struct FeaturizeSummary: Sendable, Equatable {
    public var rows = 0
    public var users = 0
    public var skippedRows = 0
}

/// Turns event rows into one feature row per user, sorted by UserId.
public struct Featurizer {
    public var options: FeaturizeOptions
    public var progress: Progress?

    public init(options: FeaturizeOptions, progress: Progress? = nil) {
        self.options = options
        self.progress = progress
    }

    public func run(reader: TableReader, output: ByteOutput, format: TableFormat) throws -> FeaturizeSummary {
        var parser = try EventRowParser(reader: reader, events: options.events ?? (options.sorted ? standardEventTypes : []))
        var summary = options.sorted
            ? try streamSorted(parser: &parser, output: output, format: format)
            : try aggregate(parser: &parser, output: output, format: format)
        summary.skippedRows = reader.skippedRows
        progress?.finish()
        return summary
    }

    private func header(_ hasLabel: Bool, _ features: FeatureSet) -> [String] {
        ["UserId"] + (hasLabel ? ["Fake"] : []) + features.columnNames
    }

    private func columnEvents(_ parser: EventRowParser) -> [Int] {
        if let events = options.events { return events.indices.map { $0 } }
        return parser.events.idsSortedByName()
    }

    /// Any order of rows: counts per user in memory (a few dozen bytes a user), then sorts.
    private func aggregate(parser: inout EventRowParser, output: ByteOutput, format: TableFormat) throws -> FeaturizeSummary {
        let users = UserIndex()
        let counts = EventCounts(users: 1 << 14)
        var labels: [Int8] = []
        var summary = FeaturizeSummary()
        while let event = try parser.next() {
            summary.rows += 1
            progress?.tick(rows: summary.rows, bytes: parser.reader.input.rawBytesRead)
            if let shard = options.shard, !shard.contains(hash: event.hash) { continue }
            let user = users.findOrInsert(event.userID, hash: event.hash)
            if user == counts.users {
                _ = counts.addUser()
                labels.append(event.label)
            } else if labels[user] != event.label {
                throw parser.labelConflict(event, previous: labels[user])
            }
            counts.add(user: user, event: event.event, category: event.category)
        }
        let features = FeatureSet(events: parser.events, categories: parser.categories, columnEvents: columnEvents(parser))
        let writer = try TableWriter(output, format: format, columns: header(parser.hasLabel, features))
        for user in users.sortedByID() {
            try writer.field(bytes: users.id(user))
            if parser.hasLabel { try writer.field(Int(labels[user])) }
            try features.write(user: user, counts: counts, to: writer)
            try writer.endRow()
        }
        summary.users = users.count
        return summary
    }

    /// Rows grouped and sorted by UserId: one user's counts at a time.
    private func streamSorted(parser: inout EventRowParser, output: ByteOutput, format: TableFormat) throws -> FeaturizeSummary {
        let counts = EventCounts(users: 1)
        var summary = FeaturizeSummary()
        var current: [UInt8] = []
        var currentLabel: Int8 = -1
        var keep = false
        var hasCurrent = false
        let fixedEvents = parser.events.count
        var features = FeatureSet(events: parser.events, categories: parser.categories, columnEvents: columnEvents(parser))
        let writer = try TableWriter(output, format: format, columns: header(parser.hasLabel, features))
        var knownCategories = parser.categories.count

        func flush() throws {
            guard hasCurrent && keep else { return }
            if parser.categories.count != knownCategories {
                features = FeatureSet(events: parser.events, categories: parser.categories, columnEvents: columnEvents(parser))
                knownCategories = parser.categories.count
            }
            try current.withUnsafeBufferPointer { try writer.field(bytes: $0) }
            if parser.hasLabel { try writer.field(Int(currentLabel)) }
            try features.write(user: 0, counts: counts, to: writer)
            try writer.endRow()
            summary.users += 1
        }

        while let event = try parser.next() {
            summary.rows += 1
            progress?.tick(rows: summary.rows, bytes: parser.reader.input.rawBytesRead)
            if options.events == nil && event.event >= fixedEvents {
                throw ToolError.data(
                    "event type '\(parser.events.name(event.event))' is not one of \(standardEventTypes.joined(separator: ",")); with --sorted, name all types with --events",
                    at: parser.reader.location(line: event.line))
            }
            let order = hasCurrent ? current.withUnsafeBufferPointer { compareIDs($0, event.userID) } : -1
            if order > 0 {
                throw ToolError.data(
                    "input is not sorted by UserId ('\(String(decoding: event.userID, as: UTF8.self))' after '\(String(decoding: current, as: UTF8.self))')",
                    at: parser.reader.location(line: event.line))
            }
            if order < 0 {
                try flush()
                current = Array(event.userID)
                currentLabel = event.label
                hasCurrent = true
                keep = options.shard?.contains(hash: event.hash) ?? true
                counts.removeAll()
                _ = counts.addUser()
            } else if currentLabel != event.label {
                throw parser.labelConflict(event, previous: currentLabel)
            }
            if keep { counts.add(user: 0, event: event.event, category: event.category) }
        }
        try flush()
        return summary
    }
}

/// One validated event row; `userID` is a view valid until the next row.
struct EventRow {
    var userID: UnsafeBufferPointer<UInt8>
    var hash: UInt64
    var event: Int
    var category: Int
    /// 0 or 1, or -1 when the input has no Fake column.
    var label: Int8
    var line: Int
}

/// Finds the event columns by name and checks each row: the part both modes share.
struct EventRowParser {
    let reader: TableReader
    private let userColumn: Int
    private let eventColumn: Int
    private let categoryColumn: Int
    private let labelColumn: Int?
    private(set) var events: Vocabulary
    private(set) var categories = Vocabulary()

    var hasLabel: Bool { labelColumn != nil }

    init(reader: TableReader, events: [String]) throws {
        self.reader = reader
        userColumn = try reader.requireColumn("UserId")
        eventColumn = try reader.requireColumn("Event")
        categoryColumn = try reader.requireColumn("Category")
        labelColumn = reader.column("Fake")
        self.events = Vocabulary(events)
    }

    /// The next good row; bad rows are skipped (and counted) or thrown, as the reader says.
    mutating func next() throws -> EventRow? {
        while let row = try reader.next() {
            let userID = row.field(userColumn)
            if userID.isEmpty {
                try reader.reject("empty UserId", line: row.line)
                continue
            }
            let eventName = row.field(eventColumn)
            if eventName.isEmpty {
                try reader.reject("empty Event", line: row.line)
                continue
            }
            let categoryName = row.field(categoryColumn)
            if categoryName.isEmpty {
                try reader.reject("empty Category", line: row.line)
                continue
            }
            var label: Int8 = -1
            if let labelColumn {
                let text = row.field(labelColumn)
                guard text.count == 1, text[0] == UInt8(ascii: "0") || text[0] == UInt8(ascii: "1") else {
                    try reader.reject("Fake must be 0 or 1, found '\(String(decoding: text, as: UTF8.self))'", line: row.line)
                    continue
                }
                label = Int8(text[0] - UInt8(ascii: "0"))
            }
            return EventRow(
                userID: userID, hash: stableHash(userID),
                event: events.id(for: eventName), category: categories.id(for: categoryName),
                label: label, line: row.line)
        }
        return nil
    }

    func labelConflict(_ row: EventRow, previous: Int8) -> ToolError {
        ToolError.data(
            "Fake changes within user '\(String(decoding: row.userID, as: UTF8.self))' (\(previous) before, \(row.label) here)",
            at: reader.location(line: row.line))
    }
}
