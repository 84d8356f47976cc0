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
    /// Rows go through in batches: the users' table slots and counters are random memory
    /// accesses, and loading a whole batch's first lets their cache misses overlap.
    private func aggregate(parser: inout EventRowParser, output: ByteOutput, format: TableFormat) throws -> FeaturizeSummary {
        let users = UserIndex()
        let counts = EventCounts(users: 1 << 14)
        var labels: [Int8] = []
        var summary = FeaturizeSummary()
        let batch = EventBatch()
        var keepAlive: UInt64 = 0
        var finished = false
        while !finished {
            batch.removeAll()
            var failure: (any Error)?
            do {
                while batch.count < EventBatch.capacity {
                    guard let event = try parser.next() else {
                        finished = true
                        break
                    }
                    summary.rows += 1
                    if let shard = options.shard, !shard.contains(hash: event.hash) { continue }
                    batch.append(event)
                }
            } catch {
                failure = error  // the rows before the bad one still count, in file order
            }
            progress?.tick(rows: summary.rows, bytes: parser.reader.input.rawBytesRead)
            // Independent loads (no running sum: that would chain them one after another).
            for i in 0..<batch.count { batch.touched[i] = users.touch(hash: batch.hashes[i]) }
            for i in 0..<batch.count {
                let user = users.findOrInsert(batch.id(i), hash: batch.hashes[i])
                if user == counts.users {
                    _ = counts.addUser()
                    labels.append(batch.labels[i])
                }
                batch.users[i] = user
            }
            for i in 0..<batch.count { batch.touched[i] = UInt64(counts.touch(user: batch.users[i])) }
            for i in 0..<batch.count {
                let user = batch.users[i]
                if labels[user] != batch.labels[i] {
                    throw parser.labelConflict(userID: batch.id(i), label: batch.labels[i], previous: labels[user], line: batch.lines[i])
                }
                counts.add(user: user, event: batch.events[i], category: batch.categories[i])
            }
            keepAlive &+= batch.count > 0 ? batch.touched[0] : 0
            if let failure { throw failure }
        }
        let features = FeatureSet(events: parser.events, categories: parser.categories, columnEvents: columnEvents(parser))
        let writer = try TableWriter(output, format: format, columns: header(parser.hasLabel, features))
        for user in users.sortedByID() {
            try writer.field(bytes: users.id(user))
            if parser.hasLabel { try writer.field(Int(labels[user])) }
            try features.write(user: user, counts: counts, to: writer)
            try writer.endRow()
        }
        prefetchSink = keepAlive
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
                throw parser.labelConflict(userID: event.userID, label: event.label, previous: currentLabel, line: event.line)
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

    func labelConflict(userID: UnsafeBufferPointer<UInt8>, label: Int8, previous: Int8, line: Int) -> ToolError {
        ToolError.data(
            "Fake changes within user '\(String(decoding: userID, as: UTF8.self))' (\(previous) before, \(label) here)",
            at: reader.location(line: line))
    }
}

/// Where the batch's early loads end up, so the compiler cannot drop them as unused.
nonisolated(unsafe) var prefetchSink: UInt64 = 0

/// A few dozen validated rows copied out of the reader (whose row views do not outlive
/// the next row), as parallel arrays in buffers allocated once: no reference counting on
/// the hot path.
final class EventBatch {
    static let capacity = 1024
    private(set) var count = 0
    let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
    let events = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
    let categories = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
    let labels = UnsafeMutablePointer<Int8>.allocate(capacity: capacity)
    let lines = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
    let users = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
    /// Values of the early loads; kept so the loads are not optimised away.
    let touched = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
    private let idStarts = UnsafeMutablePointer<Int>.allocate(capacity: capacity + 1)
    private var ids = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
    private var idCapacity = 4096

    deinit {
        for pointer in [UnsafeMutableRawPointer(hashes), UnsafeMutableRawPointer(events), UnsafeMutableRawPointer(categories),
                        UnsafeMutableRawPointer(labels), UnsafeMutableRawPointer(lines), UnsafeMutableRawPointer(users), UnsafeMutableRawPointer(touched),
                        UnsafeMutableRawPointer(idStarts), UnsafeMutableRawPointer(ids)] {
            pointer.deallocate()
        }
    }

    func removeAll() {
        count = 0
        idStarts[0] = 0
    }

    @inline(__always)
    func append(_ row: EventRow) {
        let start = idStarts[count]
        if start + row.userID.count > idCapacity {
            let grown = max(idCapacity * 2, start + row.userID.count)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            bigger.update(from: ids, count: start)
            ids.deallocate()
            ids = bigger
            idCapacity = grown
        }
        (ids + start).update(from: row.userID.baseAddress!, count: row.userID.count)
        hashes[count] = row.hash
        events[count] = row.event
        categories[count] = row.category
        labels[count] = row.label
        lines[count] = row.line
        count += 1
        idStarts[count] = start + row.userID.count
    }

    /// Row `index`'s UserId, valid until the batch is refilled.
    @inline(__always)
    func id(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: ids + idStarts[index], count: idStarts[index + 1] - idStarts[index])
    }
}
