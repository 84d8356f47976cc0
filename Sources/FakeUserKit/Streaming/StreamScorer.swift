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
    /// Instead of the model's threshold (and its stream policy).
    public var threshold: Double?
    /// A user is flagged only from this many events on (instead of the model's stream policy).
    public var minEvents: Int?
    /// Users kept at most; past it the least recently active is forgotten.
    public var maxUsers = WatchOptions.defaultMaxUsers
    /// Forget users with no event in the last N events of the stream.
    public var idle: Int?

    /// About 175 MB of state at the default (bench/watch.sh: 64 bytes of counters and about
    /// 100 of bookkeeping a user).
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
    /// UserId → slot, and each slot's id.
    let index = SlotIndex()
    private(set) var flagged: [Bool] = []
    /// Each slot's place in the activity list, one record so an event touches one line.
    private(set) var activity: [Activity] = []
    /// `newest` and `oldest` are the activity list's ends.
    private(set) var newest = -1
    private(set) var oldest = -1
    private var freeSlots: [Int] = []

    /// Vocabularies of a saved state, until `run` gives them to its parser.
    var savedEvents: [String] = []
    var savedCategories: [String] = []

    private let rows: CounterRows

    public init(model: Model, options: WatchOptions) throws {
        self.model = model
        self.options = options
        rows = CounterRows(features: model.features)
        if options.threshold == nil && options.minEvents == nil, let stored = model.streamPolicy {
            policy = stored
        } else {
            policy = .plain(minEvents: options.minEvents ?? 1, threshold: options.threshold ?? model.threshold)
        }
        try model.checkScorableFromEvents(by: "fu-watch")
    }

    /// The threshold of `--emit final`'s rows (fu-score's): the model's, or --threshold.
    public var threshold: Double { options.threshold ?? model.threshold }
    /// When a user is flagged mid-stream: the model's stream policy, unless --threshold or
    /// --min-events is given (then those, at 1 event and the model's threshold by default).
    public let policy: StreamPolicy
    public var userCount: Int { index.count }

    // MARK: The stream

    /// When a slot was last active, and its neighbours in the activity list (-1 at its
    /// ends). Int32 links, as slots are (`SlotIndex`): 16 bytes a user.
    struct Activity {
        var lastSeen: Int
        var newer: Int32 = -1
        var older: Int32 = -1
    }

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
            let slot = self.slot(for: event.userID, hash: event.hash)
            counts.add(user: slot, event: event.event, category: event.category)
            markActive(slot)
            if let idle = options.idle {
                while oldest != -1 && oldest != slot && activity[oldest].lastSeen <= consumed - idle { evict(oldest) }
            }
            if writer != nil || observe != nil {
                let (probability, events) = score(slot, parser: parser, row: &row)
                let decision = policy.flags(probability, events: events)
                try observe?(event.userID, decision, events)
                if let writer, options.emit == .every || decision != flagged[slot] {
                    try writer.field(bytes: index.id(slot))
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
            let order = slotsByActivity().sorted { compareIDs(index.id($0), index.id($1)) < 0 }
            let probabilities = order.map { score($0, parser: parser, row: &row).probability }
            try writePredictions(
                ids: order.map { String(decoding: index.id($0), as: UTF8.self) }, probabilities: probabilities, threshold: threshold,
                to: output, format: options.format)
        }
        summary.users = index.count
        summary.evictions = evictions
        summary.flagged = slotsByActivity().count { flagged[$0] }
        return summary
    }

    /// The user's probability and number of events, from its counters.
    private func score(_ slot: Int, parser: EventRowParser, row: inout [Double]) -> (probability: Double, events: Int) {
        let events = rows.fill(&row, user: slot, counts: counts, events: parser.events, categories: parser.categories)
        return (row.withUnsafeBufferPointer { model.probability($0) }, events)
    }

    // MARK: Slots

    /// The user's slot, made (evicting the least recently active user at the bound) if new.
    @inline(__always)
    private func slot(for id: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int {
        if let slot = index.find(id, hash: hash) { return slot }
        if index.count >= options.maxUsers, oldest != -1 { evict(oldest) }
        return newSlot(id, hash: hash)
    }

    /// A slot for an id not held.
    func newSlot(_ id: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            flagged[slot] = false
            counts.clear(user: slot)
        } else {
            slot = counts.users
            counts.addUser()  // no limit on a stream's counters: --max-users bounds them
            flagged.append(false)
            activity.append(Activity(lastSeen: 0))
        }
        index.insert(id, hash: hash, slot: slot)
        activity[slot].newer = -1
        activity[slot].older = -1
        return slot
    }

    /// Moves a slot to the newest end of the activity list.
    @inline(__always)
    func markActive(_ slot: Int) {
        activity[slot].lastSeen = consumed
        guard newest != slot else { return }
        unlink(slot)
        activity[slot].older = Int32(newest)
        activity[slot].newer = -1
        if newest != -1 { activity[newest].newer = Int32(slot) }
        newest = slot
        if oldest == -1 { oldest = slot }
    }

    @inline(__always)
    private func unlink(_ slot: Int) {
        let (a, b) = (Int(activity[slot].newer), Int(activity[slot].older))
        if a != -1 { activity[a].older = Int32(b) } else if newest == slot { newest = b }
        if b != -1 { activity[b].newer = Int32(a) } else if oldest == slot { oldest = a }
        activity[slot].newer = -1
        activity[slot].older = -1
    }

    private func evict(_ slot: Int) {
        unlink(slot)
        index.remove(slot: slot)
        freeSlots.append(slot)
        evictions += 1
    }

    /// Slots from the least to the most recently active (the order a state is saved in).
    func slotsByActivity() -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(index.count)
        var slot = oldest
        while slot != -1 {
            result.append(slot)
            slot = Int(activity[slot].newer)
        }
        return result
    }

    /// Puts back a saved user as the most recently active (restored in saved order).
    func restoreUser(_ id: UnsafeBufferPointer<UInt8>, lastSeen seen: Int, flagged isFlagged: Bool, events: [(Int, Int)], categories: [(Int, Int)], pairs: [(Int, Int)]) {
        let slot = newSlot(id, hash: stableHash(id))
        counts.restore(user: slot, events: events, categories: categories, pairs: pairs)
        flagged[slot] = isFlagged
        let saved = consumed
        consumed = seen
        markActive(slot)
        consumed = saved
    }

    func restoreConsumed(_ count: Int) { consumed = count }
}
