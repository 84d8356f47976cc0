/// fu-watch's work: events arrive one at a time, each user's counters (the ones
/// fu-featurize keeps) are updated in constant time, and the user is rescored from them.
/// A user's score after its last event is exactly what `fu-featurize | fu-score` gives on
/// the same events: the feature values come from the same function (`FeatureSet.values`).

/// Which lines fu-watch writes.
public enum EmitMode: String, CaseIterable, Sendable {
    /// A line when a user's decision changes: first flagged, or cleared.
    case changes
    /// A line per event.
    case every
    /// At the end of the input, one line per user in UserId order (fu-score's rows).
    case final
}

public struct WatchOptions: Sendable {
    public var emit: EmitMode = .changes
    public var format: TableFormat = .csv
    /// Instead of the model's threshold.
    public var threshold: Double?
    /// A user is flagged only from this many events on.
    public var minEvents = 1
    /// Users kept at most; past it the least recently active is forgotten.
    public var maxUsers = WatchOptions.defaultMaxUsers
    /// Forget users with no event in the last N events of the stream.
    public var idle: Int?

    /// About 200 MB of state at the default (a few dozen bytes of counters and the
    /// bookkeeping of each user).
    public static let defaultMaxUsers = 1_000_000

    public init() {}
}

public struct WatchSummary: Sendable, Equatable {
    public var events = 0
    public var users = 0
    public var evictions = 0
    public var flagged = 0
}

/// Per-user counters in slots, with a least-recently-active list for eviction.
public final class StreamScorer {
    public let model: Model
    public let options: WatchOptions
    /// Input events consumed, over every run that carried this state on.
    public private(set) var consumed = 0
    public private(set) var evictions = 0

    let counts = EventCounts(users: 1024)
    private(set) var slotOf: [[UInt8]: Int] = [:]
    private(set) var ids: [[UInt8]] = []
    private(set) var flagged: [Bool] = []
    private(set) var lastSeen: [Int] = []
    /// The activity list: `newer`/`older` link slots, `newest` and `oldest` its ends.
    private var newer: [Int] = []
    private var older: [Int] = []
    private(set) var newest = -1
    private(set) var oldest = -1
    private var freeSlots: [Int] = []

    /// Vocabularies of a saved state, until `run` gives them to its parser.
    var savedEvents: [String] = []
    var savedCategories: [String] = []

    /// The features of the current vocabularies, and where each model feature is among them.
    private var features: FeatureSet?
    private var modelColumns: [Int] = []
    private var knownEvents = -1
    private var knownCategories = -1

    public init(model: Model, options: WatchOptions) throws {
        self.model = model
        self.options = options
        try model.checkScorableFromEvents(by: "fu-watch")
    }

    public var threshold: Double { options.threshold ?? model.threshold }
    public var userCount: Int { slotOf.count }

    // MARK: The stream

    /// Reads events until the input ends, writing lines as `options.emit` says; `checkpoint`
    /// is called every `checkpointEvery` events (and the caller saves at the end).
    public func run(
        reader: TableReader, output: ByteOutput, checkpointEvery: Int? = nil, checkpoint: (() throws -> Void)? = nil,
        progress: Progress? = nil, observe: ((_ user: UnsafeBufferPointer<UInt8>, _ flagged: Bool, _ events: Int) throws -> Void)? = nil
    ) throws -> WatchSummary {
        var parser = try EventRowParser(reader: reader, events: savedEvents)
        parser.restoreCategories(savedCategories)
        let writer = options.emit == .final ? nil : try TableWriter(output, format: options.format, columns: ["UserId", "Fake", "Probability", "events"])
        var summary = WatchSummary()
        var row = [Double](repeating: 0, count: model.features.count)
        while let event = try parser.next() {
            consumed += 1
            summary.events += 1
            progress?.tick(rows: summary.events, bytes: reader.input.bytesRead)
            // The vocabularies a saved state needs, kept current for a checkpoint or a stop signal.
            if parser.events.count != savedEvents.count { savedEvents.append(parser.events.name(savedEvents.count)) }
            if parser.categories.count != savedCategories.count { savedCategories.append(parser.categories.name(savedCategories.count)) }
            let slot = self.slot(for: event.userID)
            counts.add(user: slot, event: event.event, category: event.category)
            markActive(slot)
            if let idle = options.idle {
                while oldest != -1 && oldest != slot && lastSeen[oldest] <= consumed - idle { evict(oldest) }
            }
            if writer != nil || observe != nil {
                let (probability, events) = score(slot, parser: parser, row: &row)
                let decision = events >= options.minEvents && probability >= threshold
                try observe?(event.userID, decision, events)
                if let writer, options.emit == .every || decision != flagged[slot] {
                    try writer.field(bytes: ids[slot].withUnsafeBufferPointer { $0 })
                    try writer.field(decision ? 1 : 0)
                    try writer.field(probability)
                    try writer.field(events)
                    try writer.endRow()
                }
                flagged[slot] = decision
            }
            if let checkpointEvery, consumed % checkpointEvery == 0 { try checkpoint?() }
        }
        if options.emit == .final {
            let order = slotOf.values.sorted { ids[$0].lexicographicallyPrecedes(ids[$1]) }
            let probabilities = order.map { score($0, parser: parser, row: &row).probability }
            try writePredictions(
                ids: order.map { String(decoding: ids[$0], as: UTF8.self) }, probabilities: probabilities, threshold: threshold,
                to: output, format: options.format)
        }
        summary.users = slotOf.count
        summary.evictions = evictions
        summary.flagged = flagged.indices.count { flagged[$0] && slotOf[ids[$0]] == $0 }
        return summary
    }

    /// The user's probability and number of events, from its counters.
    private func score(_ slot: Int, parser: EventRowParser, row: inout [Double]) -> (probability: Double, events: Int) {
        if parser.events.count != knownEvents || parser.categories.count != knownCategories {
            // A new type or category (rare): the columns fu-featurize would make now.
            let set = FeatureSet(events: parser.events, categories: parser.categories, columnEvents: parser.events.idsSortedByName())
            let position = Dictionary(uniqueKeysWithValues: set.columnNames.enumerated().map { ($1, $0) })
            modelColumns = model.features.map { position[$0] ?? -1 }  // a type not seen yet reads as 0
            features = set
            knownEvents = parser.events.count
            knownCategories = parser.categories.count
        }
        let set = features!
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: set.columnNames.count) { values in
            set.values(user: slot, counts: counts, into: values)
            for (f, column) in modelColumns.enumerated() { row[f] = column < 0 ? 0 : values[column] }
            let probability = row.withUnsafeBufferPointer { model.probability($0) }
            return (probability, Int(values[0]))  // total_events
        }
    }

    // MARK: Slots

    /// The user's slot, made (evicting the least recently active user at the bound) if new.
    private func slot(for id: UnsafeBufferPointer<UInt8>) -> Int {
        let key = Array(id)
        if let slot = slotOf[key] { return slot }
        if slotOf.count >= options.maxUsers, oldest != -1 { evict(oldest) }
        return newSlot(key)
    }

    func newSlot(_ key: [UInt8]) -> Int {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            ids[slot] = key
            flagged[slot] = false
            counts.clear(user: slot)
        } else {
            slot = counts.users
            counts.addUser()  // no limit on a stream's counters: --max-users bounds them
            ids.append(key)
            flagged.append(false)
            lastSeen.append(0)
            newer.append(-1)
            older.append(-1)
        }
        slotOf[key] = slot
        newer[slot] = -1
        older[slot] = -1
        return slot
    }

    /// Moves a slot to the newest end of the activity list.
    func markActive(_ slot: Int) {
        lastSeen[slot] = consumed
        guard newest != slot else { return }
        unlink(slot)
        older[slot] = newest
        newer[slot] = -1
        if newest != -1 { newer[newest] = slot }
        newest = slot
        if oldest == -1 { oldest = slot }
    }

    private func unlink(_ slot: Int) {
        let (a, b) = (newer[slot], older[slot])
        if a != -1 { older[a] = b } else if newest == slot { newest = b }
        if b != -1 { newer[b] = a } else if oldest == slot { oldest = a }
        newer[slot] = -1
        older[slot] = -1
    }

    private func evict(_ slot: Int) {
        unlink(slot)
        slotOf[ids[slot]] = nil
        freeSlots.append(slot)
        evictions += 1
    }

    /// Slots from the least to the most recently active (the order a state is saved in).
    func slotsByActivity() -> [Int] {
        var result: [Int] = []
        var slot = oldest
        while slot != -1 {
            result.append(slot)
            slot = newer[slot]
        }
        return result
    }

    /// Puts back a saved user as the most recently active (restored in saved order).
    func restoreUser(_ key: [UInt8], lastSeen seen: Int, flagged isFlagged: Bool, events: [(Int, Int)], categories: [(Int, Int)], pairs: [(Int, Int)]) {
        let slot = newSlot(key)
        counts.restore(user: slot, events: events, categories: categories, pairs: pairs)
        flagged[slot] = isFlagged
        let saved = consumed
        consumed = seen
        markActive(slot)
        consumed = saved
    }

    func restoreConsumed(_ count: Int) { consumed = count }
}
