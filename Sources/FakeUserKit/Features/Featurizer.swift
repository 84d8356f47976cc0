import Synchronization

/// What `fu-featurize` is asked to do.
public struct FeaturizeOptions: Sendable {
    /// Exactly these per-type columns (others count only in totals and entropies).
    public var events: [String]?
    public var shard: Shard?
    /// Input is sorted by UserId: stream one user at a time in constant memory.
    public var sorted = false
    /// Stop with `TooManyRows` past this many event rows (a server's per-request limit).
    public var maxRows: Int?
    /// Parse on the calling thread, with small first allocations: for small inputs (a
    /// server's requests), where a second thread costs more than it saves.
    public var oneThread = false
    /// Fail (over a limit) when the per-user counters need more bytes than this: users ×
    /// (types + categories + pairs) is what a server's request can make grow.
    public var maxCounterBytes: Int?
    /// Events a part of the compact table holds at a time (`EventsByPart`): tests make it
    /// small, so that their few rows fill many groups.
    var partCapacity = EventsByPart.defaultPartCapacity

    public init(events: [String]? = nil, shard: Shard? = nil, sorted: Bool = false, maxRows: Int? = nil, oneThread: Bool = false, maxCounterBytes: Int? = nil) {
        self.events = events
        self.shard = shard
        self.sorted = sorted
        self.maxRows = maxRows
        self.oneThread = oneThread
        self.maxCounterBytes = maxCounterBytes
    }
}

/// The columns every events table needs, in this order (`Fake` is optional).
public let requiredEventColumns = ["UserId", "Event", "Category"]

/// Thrown when the input has more rows than `FeaturizeOptions.maxRows`.
public struct TooManyRows: Error, Sendable, Equatable {
    public var limit: Int
}

public struct FeaturizeSummary: Sendable, Equatable {
    public var rows = 0
    public var users = 0
    public var skippedRows = 0

    public init(rows: Int = 0, users: Int = 0, skippedRows: Int = 0) {
        self.rows = rows
        self.users = users
        self.skippedRows = skippedRows
    }
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
        progress?.finish("\(groupedDigits(summary.rows)) rows, \(groupedDigits(summary.users)) users")
        return summary
    }

    /// The features header; an event type named like another column (`Fake`,
    /// `total_events`) would make two columns of one name.
    private func header(_ hasLabel: Bool, _ features: FeatureSet, _ reader: TableReader) throws -> [String] {
        let names = ["UserId"] + (hasLabel ? ["Fake"] : []) + features.columnNames
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw ToolError.data("an event type makes a second column named '\(name)'; rename that event type", at: reader.location())
        }
        return names
    }

    private func columnEvents(_ parser: EventRowParser) -> [Int] {
        if let events = options.events {
            var seen = Set<Int>()  // a name given twice gets one column
            return events.compactMap { parser.events.lookup($0) }.filter { seen.insert($0).inserted }
        }
        return parser.events.idsSortedByName()
    }

    /// The users' features as a table in memory, sorted by UserId: what `run` would write,
    /// without the text (fu-serve's requests). Only for unsorted input (`sorted` false).
    public func table(reader: TableReader) throws -> (table: FeatureTable, summary: FeaturizeSummary) {
        var parser = try EventRowParser(reader: reader, events: options.events ?? [])
        let counted = try count(parser: &parser)
        let features = FeatureSet(events: parser.events, categories: parser.categories, columnEvents: columnEvents(parser))
        let names = try header(parser.hasLabel, features, parser.reader).filter { !keyColumns.contains($0) }
        let order = counted.order
        let width = names.count
        var values = [Double](repeating: 0, count: order.count * width)
        func fill<Counts: CountsByUser>(_ counts: Counts) {
            values.withUnsafeMutableBufferPointer { buffer in
                for (row, user) in order.enumerated() {
                    features.values(counts.counts(of: user), into: UnsafeMutableBufferPointer(rebasing: buffer[(row * width)..<((row + 1) * width)]))
                }
            }
        }
        switch counted.counts {
        case .compact(let table): fill(table)
        case .general(let counts): fill(counts)
        }
        var table = FeatureTable(
            ids: order.map { String(decoding: counted.users.id($0), as: UTF8.self) },
            labels: parser.hasLabel ? order.map { UInt8(counted.labels[$0]) } : nil, names: names, values: values)
        table.eventTypeColumns = FeatureSet.perEventTypeColumns(names)
        let summary = FeaturizeSummary(rows: counted.rows, users: order.count, skippedRows: reader.skippedRows)
        return (table, summary)
    }

    /// Every user's counters, from rows in any order.
    private struct Counted {
        let users: UserIDs
        let counts: CountsStore
        /// User numbers in id order (`UserIDs.sortedByID`), the order of every output.
        let order: [Int]
        let labels: [Int8]
        let rows: Int
    }

    /// Where the counts are: the compact table, read in place, or the general form.
    enum CountsStore {
        case compact(CompactCounts)
        case general(EventCounts)
    }

    /// Counts per user in memory (a few dozen bytes a user), while parsing runs on a second
    /// thread. A tool's run counts in one compact table (one cache line an event) while the
    /// input fits it, then in the general form; a server's request, with a budget in bytes,
    /// in the general form from the start.
    private func count(parser: inout EventRowParser) throws -> Counted {
        options.oneThread || options.maxCounterBytes != nil
            ? try countInGeneralForm(parser: &parser) : try countInParts(parser: &parser)
    }

    /// Counts a part of the compact table at a time (`PartCounting`), from batches the
    /// parsing thread hands over.
    private func countInParts(parser: inout EventRowParser) throws -> Counted {
        let counting = PartCounting(reader: parser.reader, partCapacity: options.partCapacity)
        // From plain input the counting thread sets the pace: there the parsing thread hashes
        // the ids for it. From zstd the parsing thread, which also decodes: there the
        // counting thread decodes ahead rather than wait for a batch.
        let input = parser.reader.input
        let stage = ParseStage(
            parser: parser, shard: options.shard, maxRows: options.maxRows, progress: progress,
            hashes: input.isCompressed ? .none : .index, help: input.isCompressed ? input.decodeAhead : nil)
        do {
            while true {
                let next: EventBatch?
                do {
                    next = try stage.nextBatch()
                } catch {
                    try counting.finish()  // a label conflict on an earlier line comes first
                    throw error
                }
                guard let batch = next else { break }
                try counting.add(batch)
                stage.recycle(batch)
            }
            try counting.finish()
        } catch {
            stage.stop()
            throw error
        }
        parser = stage.parser
        let (users, counts, order) = counting.counted()
        return Counted(users: users, counts: counts, order: order, labels: counting.labels, rows: stage.rows)
    }

    /// Counts in the general form, with no limits but a budget in bytes. Parsing hands over
    /// batches of rows; the users' slots and counters are random memory accesses, and
    /// loading a few hundred rows' first, in loops with no dependency between rows, lets
    /// their cache misses overlap.
    private func countInGeneralForm(parser: inout EventRowParser) throws -> Counted {
        let reader = parser.reader
        let users = UserIndex(initialSlots: options.oneThread ? 1 << 8 : 1 << 12)
        let counts = EventCounts(users: options.oneThread ? 64 : 1 << 14, limit: options.maxCounterBytes ?? .max)
        // Past the budget the counters stop growing (nothing is allocated): the run fails here.
        func overBudget(line: Int, users: Int) -> Error {
            // (The parser is the parsing thread's until the stage ends: its reader is not.)
            ToolError.limit(
                "the counters of \(groupedDigits(users)) users with these many event types and categories need more than \((options.maxCounterBytes ?? 0) >> 20) MiB (the limit): send fewer users at once",
                at: reader.location(line: line))
        }
        var labels: [Int8] = []
        let stage = ParseStage(
            parser: parser, shard: options.shard, maxRows: options.maxRows, progress: progress, inline: options.oneThread,
            hashes: .none)
        do {
            while let batch = try stage.nextBatch() {
                try countBatchInGeneralForm(batch, users: users, counts: counts, labels: &labels, reader: reader, overBudget: overBudget)
                stage.recycle(batch)
            }
        } catch {
            stage.stop()
            throw error
        }
        parser = stage.parser
        return Counted(users: users.ids, counts: .general(counts), order: users.ids.sortedByID(), labels: labels, rows: stage.rows)
    }

    /// How many events ahead a compact slot is asked for: when its part's slots were asked
    /// for whole (`CompactCounts.prefetchShare`), only from the outer caches; otherwise from
    /// memory. A rolling window, not blocks that ask for 256 slots and then wait for the
    /// first of them.
    static let prefetchDistance = 16
    static let prefetchDistanceFromMemory = 64

    /// Any order of rows: counts per user, then writes the users sorted by UserId.
    private func aggregate(parser: inout EventRowParser, output: ByteOutput, format: TableFormat) throws -> FeaturizeSummary {
        let counted = try count(parser: &parser)
        let (users, counts, labels) = (counted.users, counted.counts, counted.labels)
        let features = FeatureSet(events: parser.events, categories: parser.categories, columnEvents: columnEvents(parser))
        let columns = try header(parser.hasLabel, features, parser.reader)
        _ = try TableWriter(output, format: format, columns: columns)
        // Rows are formatted in parallel, a few blocks of users at a time, and written in order.
        let order = counted.order
        let block = 16_384
        let hasLabel = parser.hasLabel
        // A wave's parts are written while the next wave's are formatted (the last item of
        // each wave): writing is not left to one core while the other waits.
        var written: [ByteOutput] = []
        for wave in stride(from: 0, to: order.count + 4 * block, by: 4 * block) {
            let ranges = stride(from: wave, to: min(wave + 4 * block, order.count), by: block).map { $0..<min($0 + block, order.count) }
            let previous = written
            let parts = try parallelMap(ranges.map(Optional.some) + [nil]) { range -> ByteOutput? in
                guard let range else {
                    for part in previous { try part.withCollected { try output.write($0) } }
                    return nil
                }
                // Room for rows of 24 bytes a column (the benchmark's are 9), at most 8 MiB:
                // reserved, not touched, so it costs no memory until written.
                let memory = ByteOutput(inMemory: (), expectedBytes: min(range.count * 24 * columns.count, 8 << 20))
                let writer = try TableWriter(memory, format: format, columns: columns, writeHeader: false)
                switch counts {
                case .compact(let table):
                    try Featurizer.writeRows(range, of: order, users: users, labels: hasLabel ? labels : nil, counts: table, features: features, to: writer)
                case .general(let counts):
                    try Featurizer.writeRows(range, of: order, users: users, labels: hasLabel ? labels : nil, counts: counts, features: features, to: writer)
                }
                return memory
            }
            written = parts.compactMap { $0 }
        }
        return FeaturizeSummary(rows: counted.rows, users: users.count)
    }

    /// Writes the rows of the users at `range` of `order`. Users in id order are random
    /// places in the counters and the ids' arena: asked for a few users ahead, their misses
    /// overlap.
    private static func writeRows<Counts: CountsByUser>(
        _ range: Range<Int>, of order: [Int], users: UserIDs, labels: [Int8]?, counts: Counts, features: FeatureSet, to writer: TableWriter
    ) throws {
        for k in range {
            if k + 32 < range.upperBound { counts.prefetchEarly(user: order[k + 32]) }
            if k + 16 < range.upperBound {
                users.prefetchStart(order[k + 16])
                counts.prefetch(user: order[k + 16])
            }
            if k + 8 < range.upperBound { users.prefetchID(order[k + 8]) }
            let user = order[k]
            try features.writeRow(id: users.id(user), label: labels.map { Int($0[user]) }, counts: counts.counts(of: user), to: writer)
        }
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
        let writer = try TableWriter(output, format: format, columns: try header(parser.hasLabel, features, parser.reader))
        var known = (events: parser.events.count, categories: parser.categories.count)

        func flush() throws {
            guard hasCurrent && keep else { return }
            // A type beyond --events still counts in totals and entropies (not a column).
            if parser.events.count != known.events || parser.categories.count != known.categories {
                features = FeatureSet(events: parser.events, categories: parser.categories, columnEvents: columnEvents(parser))
                known = (parser.events.count, parser.categories.count)
            }
            try current.withUnsafeBufferPointer { try writer.field(bytes: $0) }
            if parser.hasLabel { try writer.field(Int(currentLabel)) }
            try features.write(user: 0, counts: counts, to: writer)
            try writer.endRow()
            summary.users += 1
        }

        while let event = try parser.next() {
            summary.rows += 1
            if let limit = options.maxRows, summary.rows > limit { throw TooManyRows(limit: limit) }
            progress?.tick(rows: summary.rows, bytes: parser.reader.input.bytesRead, fraction: parser.reader.input.fractionRead)
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

/// Counts a batch in the general form (`UserIndex` and `EventCounts`), in file order,
/// hashing its ids unless the batch carries their index hashes: a few hundred rows at a time, loading their slots and counters first in loops with no
/// dependency between rows, so that their cache misses overlap (their lines and pages must
/// still be in the caches and the TLB when used). Throws at the first label conflict, or
/// when the counters pass their budget (`overBudget(line, users)`).
func countBatchInGeneralForm(
    _ batch: EventBatch, users: UserIndex, counts: EventCounts, labels: inout [Int8], reader: TableReader,
    overBudget: (_ line: Int, _ users: Int) -> Error
) throws {
    for block in stride(from: 0, to: batch.count, by: 256) {
        let rows = block..<min(block + 256, batch.count)
        let hashed = batch.hashKind == .index
        for i in rows {
            if !hashed { batch.hashes[i] = indexHash(batch.id(i)) }
            batch.touched[i] = users.touch(hash: batch.hashes[i])
        }
        for i in rows {
            let user = users.findOrInsert(batch.id(i), hash: batch.hashes[i])
            if user == counts.users {
                guard counts.addUser() else { throw overBudget(batch.lines[i], users.count) }
                labels.append(batch.labels[i])
            }
            batch.users[i] = user
        }
        for i in rows { batch.touched[i] = UInt64(counts.touch(user: batch.users[i])) }
        for i in rows {
            let user = batch.users[i]
            if labels[user] != batch.labels[i] {
                throw reader.labelConflict(userID: batch.id(i), previous: labels[user], label: batch.labels[i], line: batch.lines[i])
            }
            counts.add(user: user, event: batch.events[i], category: batch.categories[i])
            if counts.overLimit { throw overBudget(batch.lines[i], users.count) }
        }
    }
}

/// One validated event row; `userID` is a view valid until the next row.
struct EventRow {
    var userID: UnsafeBufferPointer<UInt8>
    /// The Event and Category fields as read (fu-partition copies them).
    var eventName: UnsafeBufferPointer<UInt8>
    var categoryName: UnsafeBufferPointer<UInt8>
    /// The UserId's stable hash (FNV-1a), computed when asked: fu-featurize's counting
    /// needs it only for `--shard`.
    var hash: UInt64 { stableHash(userID) }
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
        let columns = try requiredEventColumns.map(reader.requireColumn)
        (userColumn, eventColumn, categoryColumn) = (columns[0], columns[1], columns[2])
        labelColumn = try reader.labelColumn()
        self.events = Vocabulary(events)
        for name in events { try checkEventTypeName(name, line: nil) }
    }

    /// A new event type whose columns would pose as another column is bad data, named
    /// (it is not skipped by --skip-bad-rows: every later row of it would be wrong too).
    private func checkEventTypeName(_ name: String, line: Int?) throws {
        guard let problem = FeatureSet.eventTypeNameProblem(name) else { return }
        throw ToolError.data("\(problem); rename that event type", at: reader.location(line: line))
    }

    /// Carries on the event types and categories of earlier inputs, so that the limits
    /// count the types of all inputs together (fu-partition) and ids in a stream's counters
    /// keep their meaning (fu-watch, fu-serve's `/events`).
    mutating func continueVocabularies(events: Vocabulary, categories: Vocabulary) {
        self.events = events
        self.categories = categories
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
                guard let value = try reader.label(row, column: labelColumn) else { continue }
                label = Int8(value)
            }
            let (knownEvents, knownCategories) = (events.count, categories.count)
            let event = events.id(for: eventName)
            let category = categories.id(for: categoryName)
            do {
                if event >= Self.maxEventTypes || category >= Self.maxCategories {
                    throw vocabularyLimit(event >= Self.maxEventTypes ? "event types" : "categories", row.line)
                }
                if event >= knownEvents { try checkEventTypeName(events.name(event), line: row.line) }
            } catch {
                // A refused name leaves no trace: a stream scorer takes the vocabularies
                // (and may save them) after the rows before this one.
                events.truncate(to: knownEvents)
                categories.truncate(to: knownCategories)
                throw error
            }
            return EventRow(
                userID: userID, eventName: eventName, categoryName: categoryName,
                event: event, category: category, label: label, line: row.line)
        }
        return nil
    }

    /// Appends to `batch` the rows `next()` would return next, up to `limit`, while they
    /// are plain records already read whose checks pass at a glance: nonempty fields, a
    /// Fake of one digit, an event type and a category seen before, within the limits. Stops before any other
    /// row, which `next()` then reads (and rejects, or adds its names). Returns how many
    /// rows were appended.
    mutating func appendPlainRows(to batch: EventBatch, limit: Int, hashes: EventBatch.Hashes) -> Int {
        let (userColumn, eventColumn, categoryColumn) = (self.userColumn, self.eventColumn, self.categoryColumn)
        let labelColumn = self.labelColumn ?? -1
        let (events, categories) = (self.events, self.categories)
        return reader.takePlainRecords(limit: limit) { row in
            let userID = row.field(userColumn)
            let eventName = row.field(eventColumn)
            let categoryName = row.field(categoryColumn)
            guard !userID.isEmpty, !eventName.isEmpty, !categoryName.isEmpty else { return false }
            var label: Int8 = -1
            if labelColumn >= 0 {
                let text = row.field(labelColumn)
                guard text.count == 1, text[0] &- UInt8(ascii: "0") < 2 else { return false }
                label = Int8(text[0] &- UInt8(ascii: "0"))
            }
            // A known name may still be past the limit (`--events` may name more than 64).
            guard let event = events.knownID(for: eventName, readable8: true), event < Self.maxEventTypes,
                  let category = categories.knownID(for: categoryName, readable8: true), category < Self.maxCategories else { return false }
            batch.append(
                userID: userID, hash: hashes.of(userID), event: event, category: category, label: label, line: row.line,
                readable16: true)
            return true
        }
    }

    /// Every user has a counter for every type and category (and a bit for every pair), so
    /// their numbers are bounded: at these limits a user costs at most 1 KiB.
    static let maxEventTypes = 64
    static let maxCategories = 64

    private func vocabularyLimit(_ what: String, _ line: Int) -> ToolError {
        let limit = what == "event types" ? Self.maxEventTypes : Self.maxCategories
        let column = what == "event types" ? "Event" : "Category"
        let hint = what == "event types"
            ? "; --events only chooses the per-type columns, every type is still counted" : ""
        return ToolError.limit(
            "more than \(limit) distinct \(what) (the limit): each one costs every user a counter; is the \(column) column right?\(hint)",
            at: reader.location(line: line))
    }

    func labelConflict(userID: UnsafeBufferPointer<UInt8>, label: Int8, previous: Int8, line: Int) -> ToolError {
        reader.labelConflict(userID: userID, previous: previous, label: label, line: line)
    }
}

/// A few dozen validated rows copied out of the reader (whose row views do not outlive
/// the next row), as parallel arrays in buffers allocated once: no reference counting on
/// the hot path.
final class EventBatch {
    static let capacity = 4096

    /// What `hashes` holds for each row.
    enum Hashes {
        /// Nothing (0): the consumer hashes the ids itself.
        case none
        /// The UserId's stable hash (`stableHash`, for `--shard` and stream scoring).
        case stable
        /// The UserId's `indexHash`, which the compact table's parts go by.
        case index

        @inline(__always)
        func of(_ userID: UnsafeBufferPointer<UInt8>) -> UInt64 {
            switch self {
            case .none: 0
            case .stable: stableHash(userID)
            case .index: indexHash(userID)
            }
        }
    }
    /// The kind of `hashes` the batch was filled with.
    var hashKind = Hashes.none
    private(set) var count = 0
    /// The parser's vocabularies when the batch was filled: a copy the consumer may read
    /// while the parsing thread goes on (the stream policy replay scores as it counts).
    var vocabularies: (events: Vocabulary, categories: Vocabulary)?
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

    /// `hash`: the row's hash of the kind `hashKind` says (0 for none).
    @inline(__always)
    func append(_ row: EventRow, hash: UInt64) {
        append(userID: row.userID, hash: hash, event: row.event, category: row.category, label: row.label, line: row.line)
    }

    /// `readable16`: the 16 bytes from the id's start may be read (though the id be
    /// shorter), so a short id is copied as two words, not by a call to memcpy.
    @inline(__always)
    func append(userID: UnsafeBufferPointer<UInt8>, hash: UInt64, event: Int, category: Int, label: Int8, line: Int, readable16: Bool = false) {
        let start = idStarts[count]
        reserveRoom(&ids, capacity: &idCapacity, used: start, needed: start + max(userID.count, 16))
        if readable16 && userID.count <= 16 {
            let (from, to) = (UnsafeRawPointer(userID.baseAddress!), UnsafeMutableRawPointer(ids + start))
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            (to + 8).storeBytes(of: (from + 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
        } else {
            (ids + start).update(from: userID.baseAddress!, count: userID.count)
        }
        hashes[count] = hash
        events[count] = event
        categories[count] = category
        labels[count] = label
        lines[count] = line
        count += 1
        idStarts[count] = start + userID.count
    }

    /// Row `index`'s UserId, valid until the batch is refilled.
    @inline(__always)
    func id(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: ids + idStarts[index], count: idStarts[index + 1] - idStarts[index])
    }
}

/// Parses event rows on a background thread into batches, handed over in file order; a
/// bad row arrives after the rows before it. The consumer gives batches back to be refilled.
final class ParseStage: @unchecked Sendable {
    private enum Message {
        case batch(EventBatch)
        case end
        case failure(any Error)
    }

    /// Owned by the background thread until the stage has ended.
    private(set) var parser: EventRowParser
    private(set) var rows = 0
    private let shard: Shard?
    /// Which hash of each row's UserId batches carry (`EventBatch.hashes`).
    private let hashes: EventBatch.Hashes
    private let maxRows: Int
    private let progress: Progress?
    private let free = BlockingQueue<EventBatch>(capacity: 4)
    private let full = BlockingQueue<Message>(capacity: 6)
    private let cancelled = Atomic<Bool>(false)
    private var thread: BackgroundThread?
    private var ended = false
    /// Work the consumer does instead of waiting for a batch (decoding input ahead).
    private let help: (() -> Bool)?

    /// Rows left to read one at a time before trying plain rows in bulk again: after a
    /// try that took none, so that input of other rows (non-ASCII names, CRLF, quotes)
    /// does not scan each row twice.
    private var plainMisses = 0
    private static let rowsAfterPlainMiss = 16

    /// The batch `inline` stages parse into on the caller's thread.
    private var inlineBatch: EventBatch?
    /// An inline parse's error, thrown after the batch of rows before it.
    private var inlineFailure: (any Error)?

    /// `inline` parses on the caller's thread, when nextBatch() asks: for small inputs,
    /// where a second thread costs more than it saves.
    init(parser: EventRowParser, shard: Shard?, maxRows: Int?, progress: Progress?, inline: Bool = false, hashes: EventBatch.Hashes = .stable, help: (() -> Bool)? = nil) {
        self.parser = parser
        self.help = help
        self.shard = shard
        self.hashes = hashes
        self.maxRows = maxRows ?? .max
        self.progress = progress
        if inline {
            inlineBatch = EventBatch()
        } else {
            for _ in 0..<4 { free.put(EventBatch()) }
            thread = BackgroundThread { [self] in produce() }
        }
    }

    private func produce() {
        while true {
            let batch = free.take()
            if cancelled.load(ordering: .relaxed) {
                full.put(.end)
                return
            }
            let (ended, error) = parse(into: batch)
            full.put(.batch(batch))
            if let error {
                full.put(.failure(error))
                return
            }
            if ended {
                full.put(.end)
                return
            }
        }
    }

    /// Fills `batch` with the next rows; says whether the input ended, or why it failed.
    private func parse(into batch: EventBatch) -> (ended: Bool, error: (any Error)?) {
        batch.removeAll()
        batch.hashKind = hashes
        do {
            while batch.count < EventBatch.capacity {
                if shard == nil && rows < maxRows && plainMisses == 0 {
                    let taken = parser.appendPlainRows(
                        to: batch, limit: min(EventBatch.capacity - batch.count, maxRows - rows), hashes: hashes)
                    rows += taken
                    if taken == 0 { plainMisses = ParseStage.rowsAfterPlainMiss }
                    if batch.count == EventBatch.capacity { break }
                } else if plainMisses > 0 {
                    plainMisses -= 1
                }
                guard let event = try parser.next() else {
                    batch.vocabularies = (parser.events, parser.categories)
                    return (true, nil)
                }
                rows += 1
                if rows > maxRows { throw TooManyRows(limit: maxRows) }
                if let shard, !shard.contains(hash: event.hash) { continue }
                batch.append(event, hash: hashes.of(event.userID))
            }
            progress?.tick(rows: rows, bytes: parser.reader.input.bytesRead, fraction: parser.reader.input.fractionRead)
            batch.vocabularies = (parser.events, parser.categories)
            return (false, nil)
        } catch {
            // The rows before the bad one are handed over too, with the names they use.
            batch.vocabularies = (parser.events, parser.categories)
            return (true, error)
        }
    }

    /// The next batch in file order, nil at the end; throws the parser's error in its place.
    func nextBatch() throws -> EventBatch? {
        if let batch = inlineBatch {
            if let error = inlineFailure {
                inlineFailure = nil
                throw error
            }
            if ended { return nil }
            let (end, error) = parse(into: batch)
            ended = end
            if let error {
                // The rows before the bad one first, as from the thread: a label conflict
                // among them comes before the bad row's error.
                guard batch.count > 0 else { throw error }
                inlineFailure = error
                return batch
            }
            return batch.count > 0 || !end ? batch : nil
        }
        var message: Message
        if let help {
            while true {
                if let taken = full.tryTake() { message = taken; break }
                if !help() { message = full.take(); break }
            }
        } else {
            message = full.take()
        }
        switch message {
        case .batch(let batch):
            return batch
        case .end:
            finish()
            return nil
        case .failure(let error):
            finish()
            throw error
        }
    }

    func recycle(_ batch: EventBatch) {
        if inlineBatch == nil { free.put(batch) }
    }

    /// Stops the thread early (the consumer failed): recycles batches until it has ended.
    func stop() {
        guard !ended, inlineBatch == nil else { return }
        cancelled.store(true, ordering: .relaxed)
        while true {
            switch full.take() {
            case .batch(let batch): free.put(batch)
            case .end, .failure:
                finish()
                return
            }
        }
    }

    private func finish() {
        ended = true
        thread?.join()
        thread = nil
    }
}
