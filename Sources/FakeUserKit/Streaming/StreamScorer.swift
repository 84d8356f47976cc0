#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// fu-watch's work: events arrive one at a time, each user's counters (the ones
/// fu-featurize keeps) are updated in constant time, and the user is rescored from them.
/// A user's score after its last event is exactly what `fu-featurize | fu-score` gives on
/// the same events: the feature values come from the same function (`FeatureSet.values`).

/// Which lines fu-watch writes.
public enum EmitMode: String, CaseIterable, Sendable {
    /// A line when a user's decision changes: first flagged, or cleared (or, with decision
    /// bands, moved to another band).
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
    /// Add each line's K strongest reasons (`--explain K`, as fu-score's).
    public var explain: Int?

    /// About 100 MB of state at the default (bench/watch.sh: 32 bytes of counters and about
    /// 65 of id, activity, decision and index a user).
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
    public let options: WatchOptions
    /// Input events consumed, over every run that carried this state on.
    public private(set) var consumed = 0
    public private(set) var evictions = 0

    let counts: EventCounts
    /// UserId → slot, and each slot's id.
    let index: SlotIndex
    /// Each slot's decision now.
    private(set) var verdicts: SlotRecords<Verdict>
    /// Users flagged now (kept as decisions change, for fu-serve's metrics).
    public private(set) var flaggedCount = 0
    /// Each slot's place in the activity list, one record so an event touches one line.
    private(set) var activity: SlotRecords<Activity>
    /// `newest` and `oldest` are the activity list's ends.
    private(set) var newest = -1
    private(set) var oldest = -1
    /// Whether the activity list is kept. Until an eviction needs its oldest end (at
    /// `--idle`, from the start; at `--max-users`, once reached) only `lastSeen` is, and the
    /// list is made from it then: relinking a slot touched two more random lines an event,
    /// a sixth of fu-watch's time. Orders by `lastSeen` equal the list's: each event's is
    /// new, and a saved state's ties are restored in slot order.
    private var listed: Bool
    private var freeSlots: [Int] = []

    /// The event types and categories seen, in the order of their ids in the counters:
    /// every input's parser starts from them and hands them back.
    var events = Vocabulary()
    var categories = Vocabulary()
    /// While `ingest` runs: the slots its events touched, and the scores of those it had to
    /// evict on the way (at `--max-users`).
    private var batchSlots: Set<Int>?
    private var batchEvicted: [(slot: Int, score: UserScore)] = []
    /// fu-watch's drift window of users whose histories ended, and rows waiting for it.
    private var endedUsers: DriftWindow?
    private var endedRows: [Double] = []

    /// The model, its feature rows from counters and its stream policy, in one class of
    /// constants: reading a struct model from the scorer's own variable per event copied
    /// it, retaining each of its arrays. Replaced whole by a reload (`replaceModel`).
    private final class Scoring {
        let model: Model
        let rows: CounterRows
        let policy: StreamPolicy
        let bands: DecisionBands?
        /// A sigmoid argument below which the probability is under every threshold (clear).
        let clearBelow: Double
        init(model: Model, options: WatchOptions) {
            self.model = model
            rows = CounterRows(features: model.features)
            bands = model.decisionBands
            if options.threshold == nil && options.minEvents == nil, let stored = model.streamPolicy {
                policy = stored
            } else {
                policy = .plain(minEvents: options.minEvents ?? 1, threshold: options.threshold ?? model.threshold)
            }
            // Below every threshold a user is clear: a sigmoid argument half a unit under the
            // lowest one's is that, whatever the rounding (not near 0 or 1, where it is not).
            let lowest = (policy.bands.map(\.threshold) + [bands?.review, bands?.block].compactMap { $0 }).min() ?? 0
            clearBelow = lowest > 1e-9 && lowest < 1 - 1e-9 ? log(lowest / (1 - lowest)) - 0.5 : -.infinity
        }

        /// A method, so that the model is read in place: read from outside, the struct was
        /// copied per event, retaining each of its arrays.
        func probability(_ row: UnsafeBufferPointer<Double>) -> Double { model.probability(row) }

        /// Whether a user with this probability after this many events is flagged, and
        /// its band: none but allow before the policy's minimum number of events.
        @inline(__always)
        func verdict(probability: Double, events: Int) -> Verdict {
            let fake = policy.flags(probability, events: events)
            guard let bands, events >= policy.minEvents else { return Verdict(fake: fake) }
            return Verdict(fake: fake, decision: bands.decision(probability))
        }

        /// The model's decision as running sums (`PrefixScorer`), for the vocabularies of
        /// sizes `events` and `categories`. A class, so the scorer is read in place.
        private final class Bounds {
            let scorer: PrefixScorer?
            let events: Int, categories: Int
            init(scorer: PrefixScorer?, events: Int, categories: Int) { (self.scorer, self.events, self.categories) = (scorer, events, categories) }
        }
        private var bounds = Bounds(scorer: nil, events: -1, categories: -1)

        /// Makes `boundedVerdict` read counters of these vocabularies (a new type or
        /// category: rare). Not per event: passing vocabularies retained their arrays.
        func prepareBounds(events: Vocabulary, categories: Vocabulary) {
            guard bounds.events != events.count || bounds.categories != categories.count else { return }
            let set = FeatureSet(events: events, categories: categories, columnEvents: events.idsSortedByName())
            bounds = Bounds(
                scorer: PrefixScorer(model: model, calibratedBy: model, set: set, eventTypes: events.count, grid: []),
                events: events.count, categories: categories.count)
        }

        /// A slot's verdict when its probability's rounding bound decides it (no threshold
        /// within it), with its events; nil when only the exact score can tell. Verdicts
        /// rise with the probability, so equal verdicts at both ends of the bound are the
        /// exact one. No feature row is made: a third of fu-watch's time per event.
        @inline(__always)
        func boundedVerdict(_ slot: Int, counts: EventCounts) -> (Verdict, Int)? {
            switch bounds.scorer?.probability(user: slot, counts: counts, categories: bounds.categories, below: clearBelow) {
            case nil: return nil
            case .below(let seen): return (.clear, seen)
            case .near(let p, let tolerance, let seen):
                let low = verdict(probability: p - tolerance, events: seen)
                guard low == verdict(probability: p + tolerance, events: seen) else { return nil }
                return (low, seen)
            }
        }
    }
    private var scoring: Scoring

    /// Slots the per-user records are first made for: `--max-users`, up to 16M and to a
    /// quarter of the memory the process may have (`ulimit -v`). Memory only the users
    /// written take: the kernel commits a page when it is first touched. The records then
    /// never double as users arrive; a doubling held the old copy beside the new one, a
    /// third more than the records themselves at its peak.
    static func reservedSlots(maxUsers: Int) -> Int { max(1024, min(maxUsers, 1 << 24, allocatableBytes() / 512)) }

    public init(model: Model, options: WatchOptions) throws {
        self.options = options
        let reserved = StreamScorer.reservedSlots(maxUsers: options.maxUsers)
        counts = EventCounts(users: reserved)
        index = SlotIndex(reservedSlots: reserved)
        verdicts = SlotRecords(capacity: reserved)
        activity = SlotRecords(capacity: reserved)
        listed = options.idle != nil
        scoring = Scoring(model: model, options: options)
        try model.checkScorableFromEvents(by: "fu-watch")
    }

    public var model: Model { scoring.model }

    deinit {
        verdicts.deallocate()
        activity.deallocate()
    }

    /// The threshold of `--emit final`'s rows (fu-score's): the model's, or --threshold.
    public var threshold: Double { options.threshold ?? model.threshold }
    /// When a user is flagged mid-stream: the model's stream policy, unless --threshold or
    /// --min-events is given (then those, at 1 event and the model's threshold by default).
    public var policy: StreamPolicy { scoring.policy }
    public var userCount: Int { index.count }

    // MARK: The stream

    /// When a slot was last active (-1 once it is free), and its neighbours in the activity
    /// list (-1 at its ends, and while the list is not kept). Int32 links, as slots are
    /// (`SlotIndex`): 16 bytes a user.
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
        var parser = try parser(for: reader)
        let writer = options.emit == .final
            ? nil
            : try TableWriter(output, format: options.format, columns: predictionColumns(bands: model.decisionBands != nil, events: true, reasons: options.explain != nil))
        var reasonText = ReasonText(names: options.explain == nil ? [] : model.features, format: options.format)
        var summary = WatchSummary()
        var row = [Double](repeating: 0, count: model.features.count)
        let banded = model.decisionBands != nil  // not per event: `model` copies the struct
        // Before the policy's first band no user is flagged, whatever its probability: with
        // `--emit changes` a clear user's row there is answered without scoring it.
        let unscoredBelow = options.emit == .changes ? policy.minEvents : 0
        let block = EventBatch()  // fu-featurize's: plain memory, no reference counting per row
        var failure: (any Error)?
        var ended = false
        while !ended && failure == nil {
            // A row, waiting for it if need be, then the rows already read behind it: their
            // users' memory is loaded together (`loadAhead`), and every row is answered
            // before the next wait for input, so a trickle is answered line by line.
            block.removeAll()
            guard let first = try parser.next() else { break }
            block.append(first, hash: SlotIndex.hash(first.userID))
            reader.onlyBuffered = true
            do {
                while block.count < StreamScorer.blockSize {
                    guard let event = try parser.next() else {
                        ended = true
                        break
                    }
                    block.append(event, hash: SlotIndex.hash(event.userID))
                }
            } catch is TableReader.WouldRead {
            } catch {
                failure = error  // thrown once the rows before it are answered
            }
            reader.onlyBuffered = false
            // Kept current for a checkpoint or a stop signal (a copy only when a name is new).
            // Names of the block's later rows change no value of a user that has not shown
            // them; a checkpoint mid-block saves them ahead of their rows, which a resumed
            // run reads again and gives the same ids (a refused name never gets this far).
            if parser.events.count != events.count { events = parser.events }
            if parser.categories.count != categories.count { categories = parser.categories }
            loadAhead(block)
            let scoring = self.scoring  // once a block: each read of the property retained it
            scoring.prepareBounds(events: events, categories: categories)
            for i in 0..<block.count {
                summary.events += 1
                progress?.tick(rows: summary.events, bytes: reader.input.bytesRead, fraction: reader.input.fractionRead)
                let slot = take(block.id(i), hash: block.hashes[i], event: block.events[i], category: block.categories[i])
                if writer != nil || observe != nil {
                    let seenIfClear = unscoredBelow > 1 && verdicts[slot] == .clear ? counts.totalEvents(user: slot) : .max
                    if seenIfClear < unscoredBelow {
                        try observe?(block.id(i), false, seenIfClear)  // still clear: no line
                    } else if options.emit != .every, let (verdict, seen) = scoring.boundedVerdict(slot, counts: counts), verdict == verdicts[slot] {
                        try observe?(block.id(i), verdict.fake, seen)  // unchanged: no line
                    } else {
                        let (probability, seen) = score(slot, row: &row)
                        let verdict = decide(probability: probability, events: seen)
                        try observe?(block.id(i), verdict.fake, seen)
                        if let writer, options.emit == .every || verdict != verdicts[slot] {
                            try writer.field(bytes: index.id(slot))
                            try writer.field(verdict.fake ? 1 : 0)
                            try writer.field(probability)
                            if banded { try writer.field(verdict.decision.rawValue) }
                            try writer.field(seen)
                            if let k = options.explain {
                                let user = FeatureTable(ids: [""], labels: nil, names: model.features, values: row)
                                try reasonText.write(try Reasons(model: model, table: user, k: k), row: 0, to: writer)
                            }
                            try writer.endRow()
                        }
                        setVerdict(slot, verdict)
                    }
                }
                if let checkpointEvery, consumed % checkpointEvery == 0 { try checkpoint?() }
            }
        }
        if let failure { throw failure }
        if options.emit == .final {
            let order = slotsByActivity().sorted { compareIDs(index.id($0), index.id($1)) < 0 }
            let ids = order.map { String(decoding: index.id($0), as: UTF8.self) }
            var values: [Double] = []
            let probabilities = order.map { slot in
                let (probability, seen) = score(slot, row: &row)
                setVerdict(slot, decide(probability: probability, events: seen))  // for the summary and --metrics
                if options.explain != nil { values += row }
                return probability
            }
            let reasons = try options.explain.map { k in
                try Reasons(model: model, table: FeatureTable(ids: ids, labels: nil, names: model.features, values: values), k: k)
            }
            try writePredictions(
                ids: ids, probabilities: probabilities, threshold: threshold, bands: model.decisionBands, to: output, format: options.format, reasons: reasons)
        }
        summary.users = index.count
        summary.evictions = evictions
        summary.flagged = flaggedCount
        return summary
    }

    /// Whether a user with this probability after this many events is flagged, and its
    /// band: none but allow before the policy's minimum number of events.
    @inline(__always)
    func decide(probability: Double, events: Int) -> Verdict {
        scoring.verdict(probability: probability, events: events)
    }

    /// Rows taken from the input at most at once (`run`).
    static let blockSize = 128

    /// Loads the block's index entries, then the records of the slots they name (id,
    /// counters, activity, decision), before the rows are counted one by one. Each is a
    /// cache miss at a random place: loaded together they overlap, where row by row each
    /// waited for the one before (most of fu-watch's time). Hints only: nothing here
    /// changes what the rows do.
    private func loadAhead(_ block: EventBatch) {
        for i in 0..<block.count { block.touched[i] = index.touch(hash: block.hashes[i]) }
        for i in 0..<block.count {
            let slot = index.likelySlot(hash: block.hashes[i]) ?? -1
            block.users[i] = slot
            guard slot >= 0 else { continue }
            block.touched[i] = index.touchRecord(slot) &+ UInt64(counts.touch(user: slot)) &+ UInt64(truncatingIfNeeded: activity[slot].lastSeen)
                &+ (verdicts[slot].fake ? 1 : 0)
        }
        // The slot's neighbours in the activity list, which `markActive` relinks: stores
        // to lines not in the cache, which the next atomic operation (a retain) waits for.
        guard listed else { return }
        for i in 0..<block.count {
            let slot = block.users[i]
            guard slot >= 0 else { continue }
            let (newer, older) = (Int(activity[slot].newer), Int(activity[slot].older))
            if newer >= 0 { block.touched[i] &+= UInt64(truncatingIfNeeded: activity[newer].lastSeen) }
            if older >= 0 { block.touched[i] &+= UInt64(truncatingIfNeeded: activity[older].lastSeen) }
        }
    }

    /// A parser for `reader` that carries on this stream's event types and categories.
    private func parser(for reader: TableReader) throws -> EventRowParser {
        var parser = try EventRowParser(reader: reader, events: [])
        parser.continueVocabularies(events: events, categories: categories)
        return parser
    }

    /// Counts one event: its user's slot (made if new), counters and place in the activity
    /// list, and the `--idle` evictions it causes. Returns the slot.
    @inline(__always)
    private func take(_ id: UnsafeBufferPointer<UInt8>, hash: UInt64, event: Int, category: Int) -> Int {
        consumed += 1
        let slot = self.slot(for: id, hash: hash)
        counts.add(user: slot, event: event, category: category)
        markActive(slot)
        if let idle = options.idle {
            while oldest != -1 && oldest != slot && activity[oldest].lastSeen <= consumed - idle { evict(oldest) }
        }
        return slot
    }

    @inline(__always)
    private func setVerdict(_ slot: Int, _ verdict: Verdict) {
        if verdict.fake != verdicts[slot].fake { flaggedCount += verdict.fake ? 1 : -1 }
        verdicts[slot] = verdict
    }

    // MARK: Batches (fu-serve)

    /// Adds a batch of events (an HTTP request's) and returns each affected user's score
    /// after it, in UserId order. The batch is read whole before any counter changes, so a
    /// bad row leaves the state as it was. `limit`: most events in the batch.
    public func ingest(reader: TableReader, maxEvents: Int, explain: Int? = nil) throws -> StreamScores {
        var parser = try parser(for: reader)
        var batch = PendingEvents()
        while let event = try parser.next() {
            guard batch.count < maxEvents else { throw TooManyRows(limit: maxEvents) }
            batch.append(event)
        }
        events = parser.events
        categories = parser.categories
        batchSlots = []
        batchEvicted = []
        defer { batchSlots = nil }
        for i in 0..<batch.count {
            let slot = batch.withID(i) { take($0, hash: batch.hashes[i], event: Int(batch.events[i]), category: Int(batch.categories[i])) }
            batchSlots!.insert(slot)
        }
        var scores = StreamScores(model: model, explain: explain)
        scores.batchEvents = batch.count
        for slot in batchSlots! { scores.append(currentScore(slot)) }
        // A user evicted (at --max-users) and back within the batch is answered once, as it
        // stands now: it started over when it came back.
        var answered = Set(scores.users.map(\.id))
        for evicted in batchEvicted.reversed() where answered.insert(evicted.score.id).inserted { scores.append(evicted.score) }
        return try scores.sortedByID()
    }

    /// The answer to a batch without events.
    public func noScores(explain: Int?) -> StreamScores { StreamScores(model: model, explain: explain) }

    /// The user's current score, or nil when the stream holds no such user.
    public func score(id: String, explain: Int? = nil) throws -> StreamScores? {
        var id = id
        guard let slot = id.withUTF8({ index.find($0, hash: SlotIndex.hash($0)) }) else { return nil }
        var scores = StreamScores(model: model, explain: explain)
        scores.append(currentScore(slot))
        return try scores.sortedByID()
    }

    /// Forgets a user (an erasure request); false when the stream holds no such user.
    public func forget(id: String) -> Bool {
        var id = id
        guard let slot = id.withUTF8({ index.find($0, hash: SlotIndex.hash($0)) }) else { return false }
        evict(slot, forgotten: true)
        return true
    }

    /// Scores every user again with `newModel` (a reload), from the kept counters.
    public func replaceModel(_ newModel: Model) throws {
        try newModel.checkScorableFromEvents(by: "fu-serve's stream")
        scoring = Scoring(model: newModel, options: options)
        rescoreAll()
    }

    /// Every user's decision again from its counters (a new model, a loaded state).
    func rescoreAll() {
        var row = [Double](repeating: 0, count: model.features.count)
        for slot in slotsByActivity() {
            let (probability, seen) = score(slot, row: &row)
            setVerdict(slot, decide(probability: probability, events: seen))
        }
    }

    /// Scores a slot and records the decision.
    private func currentScore(_ slot: Int) -> UserScore {
        var row = [Double](repeating: 0, count: model.features.count)
        let (probability, seen) = score(slot, row: &row)
        let verdict = decide(probability: probability, events: seen)
        setVerdict(slot, verdict)
        return UserScore(id: String(decoding: index.id(slot), as: UTF8.self), verdict: verdict, probability: probability, events: seen, features: row)
    }

    /// The user's probability and number of events, from its counters.
    private func score(_ slot: Int, row: inout [Double]) -> (probability: Double, events: Int) {
        let scoring = self.scoring
        if scoring.rows.isStale(events: events.count, categories: categories.count) {
            scoring.rows.prepare(events: events, categories: categories)
        }
        let seen = scoring.rows.fill(&row, user: slot, counts: counts)
        return (row.withUnsafeBufferPointer { scoring.probability($0) }, seen)
    }

    // MARK: Drift

    /// Turns on `endedUsersDrift`: the last `count` users whose histories ended (0: off,
    /// as for a model without training deciles).
    public func keepEndedUsers(_ count: Int) {
        endedUsers = count > 0 && model.trainingDistribution != nil ? DriftWindow(capacity: count) : nil
    }

    /// Each feature's drift over the last users whose histories ended: forgotten at
    /// --idle or --max-users, or held when the input ended (`inputEnded`), with their
    /// counts then. Never a user mid-history, which would not look like the whole histories
    /// the model learned from. nil when off, or before the first such user.
    public func endedUsersDrift() -> DriftReport? {
        flushEndedRows()
        return endedUsers?.report()
    }

    /// At the end of a finite input every held user's history has ended.
    public func inputEnded() {
        guard endedUsers != nil else { return }
        for slot in slotsByActivity() { keepEndedRow(slot) }
        flushEndedRows()
    }

    private func keepEndedRow(_ slot: Int) {
        guard let window = endedUsers else { return }
        var row = [Double](repeating: 0, count: model.features.count)
        _ = score(slot, row: &row)
        endedRows += row
        if endedRows.count >= window.capacity * row.count { flushEndedRows() }
    }

    private func flushEndedRows() {
        guard let window = endedUsers, !endedRows.isEmpty else { return }
        let users = endedRows.count / model.features.count
        window.add(FeatureTable(ids: [String](repeating: "", count: users), labels: nil, names: model.features, values: endedRows), model: model)
        endedRows.removeAll(keepingCapacity: true)
    }

    // MARK: Slots

    /// The user's slot, made (evicting the least recently active user at the bound) if new.
    @inline(__always)
    private func slot(for id: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int {
        if let slot = index.find(id, hash: hash) { return slot }
        if index.count >= options.maxUsers {
            keepList()
            if oldest != -1 { evict(oldest) }
        }
        return newSlot(id, hash: hash)
    }

    /// A slot for an id not held.
    func newSlot(_ id: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            counts.clear(user: slot)
        } else {
            slot = counts.users
            counts.addUser()  // no limit on a stream's counters: --max-users bounds them
            verdicts.append(.clear)
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
        guard listed, newest != slot else { return }
        unlink(slot)
        linkAsNewest(slot)
    }

    /// Puts an unlinked slot at the newest end of the activity list.
    @inline(__always)
    private func linkAsNewest(_ slot: Int) {
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

    /// `forgotten`: asked for (DELETE /users/ID), not counted as an eviction.
    private func evict(_ slot: Int, forgotten: Bool = false) {
        if batchSlots?.remove(slot) != nil { batchEvicted.append((slot, currentScore(slot))) }
        if !forgotten { keepEndedRow(slot) }
        setVerdict(slot, .clear)
        if listed { unlink(slot) }
        activity[slot].lastSeen = -1
        index.remove(slot: slot)
        freeSlots.append(slot)
        if !forgotten { evictions += 1 }
    }

    /// Makes the activity list from the slots' `lastSeen`, and keeps it from now on.
    private func keepList() {
        guard !listed else { return }
        let order = slotsByActivity()
        listed = true
        for slot in order { linkAsNewest(slot) }
    }

    /// Slots from the least to the most recently active (the order a state is saved in).
    func slotsByActivity() -> [Int] {
        guard listed else {
            return (0..<counts.users).filter { activity[$0].lastSeen >= 0 }.sorted {
                (activity[$0].lastSeen, $0) < (activity[$1].lastSeen, $1)
            }
        }
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
    func restoreUser(_ id: UnsafeBufferPointer<UInt8>, lastSeen seen: Int, verdict: Verdict, events: [(Int, Int)], categories: [(Int, Int)], pairs: [(Int, Int)]) {
        let slot = newSlot(id, hash: SlotIndex.hash(id))
        counts.restore(user: slot, events: events, categories: categories, pairs: pairs)
        setVerdict(slot, verdict)
        let saved = consumed
        consumed = seen
        markActive(slot)
        consumed = saved
    }

    func restoreConsumed(_ count: Int) { consumed = count }
}
