#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// fu-fit --policy-events: the stream policy that catches fakes soonest while the real users
/// ever flagged stay within a bound, chosen out of fold on the training users. Each user is
/// scored after each of its events, in arrival order, by the model of the fold that did
/// not see it (`replayOutOfFold`); every candidate policy is then judged on those scores
/// (`PolicySearch.best`).
///
/// Candidates: a minimum number of events m, one threshold from m on, or a higher one from
/// m and a lower one from K > m on (K in 3, 5, 10, 20), thresholds from `thresholdGrid`.
/// Judged by, in order: the sum over fakes of the events seen when first flagged, capped
/// at 21 (a fake not flagged within 20 events counts 21: the area above the "share caught
/// within n events" curve up to 20), then more fakes caught, then fewer real users flagged.

/// Each training user's probability after each of its first `horizon` events, as the index
/// of the highest grid threshold it reaches (0: none), and the highest after those: all a
/// candidate's outcome depends on; then the level after its last event plus one (0: no
/// event). 22 bytes a user, in one record: a replay's users arrive in random order, and
/// each array touched per event is a cache miss.
public struct PrefixLevels: Sendable {
    /// Events whose position the search tells apart.
    public static let horizon = 20
    static let stride = horizon + 1
    static let recordSize = stride + 1
    /// Ascending thresholds; level l means the probability reached `grid[l - 1]`.
    public let grid: [Double]
    public let labels: [UInt8]
    var levels: [UInt8]

    public init(grid: [Double], labels: [UInt8]) {
        precondition(grid.count < 255 && zip(grid, grid.dropFirst()).allSatisfy { $0 < $1 }, "an ascending grid of fewer than 255 thresholds")
        self.grid = grid
        self.labels = labels
        levels = [UInt8](repeating: 0, count: labels.count * PrefixLevels.recordSize)
    }

    /// The same from every user's probabilities after each of its events (a test's oracle input).
    public init(grid: [Double], labels: [UInt8], probabilities: [[Double]]) {
        self.init(grid: grid, labels: labels)
        for (user, sequence) in probabilities.enumerated() {
            for (k, p) in sequence.enumerated() { record(user: user, events: k + 1, probability: p) }
        }
    }

    /// The user's probability after `k` of its events (k counts up by one per call).
    @inline(__always)
    public mutating func record(user: Int, events k: Int, probability p: Double) {
        // The number of thresholds at or below p (binary search).
        var level = 0, high = grid.count
        while level < high {
            let middle = (level + high) / 2
            if grid[middle] <= p { level = middle + 1 } else { high = middle }
        }
        record(user: user, events: k, level: level)
    }

    /// The same for a probability known by its level: the number of thresholds at or below it.
    @inline(__always)
    mutating func record(user: Int, events k: Int, level: Int) {
        let base = user * PrefixLevels.recordSize
        let at = base + min(k, PrefixLevels.stride) - 1
        levels[at] = max(levels[at], UInt8(level))
        levels[base + PrefixLevels.stride] = UInt8(level + 1)
    }

    /// One record for each distinct (label, levels) and how many users have it, in the
    /// order each first appears: scores of real users repeat (most stay below every
    /// threshold), and the search judges a record once instead of once a user.
    func deduplicated() -> (levels: PrefixLevels, weights: [Int]) {
        struct Key: Hashable { var a: UInt64, b: UInt64, c: UInt64 }
        precondition(PrefixLevels.recordSize <= 23, "a record and its label fit three words")
        var slots: [Key: Int] = [:]
        var labels: [UInt8] = [], records: [UInt8] = [], weights: [Int] = []
        levels.withUnsafeBytes { bytes in
            for user in self.labels.indices {
                var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
                withUnsafeMutableBytes(of: &words) { key in
                    key.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(user * PrefixLevels.recordSize)..<((user + 1) * PrefixLevels.recordSize)]))
                    key[23] = self.labels[user]
                }
                let key = Key(a: words.0, b: words.1, c: words.2)
                if let slot = slots[key] {
                    weights[slot] += 1
                } else {
                    slots[key] = weights.count
                    weights.append(1)
                    labels.append(self.labels[user])
                    records += bytes[(user * PrefixLevels.recordSize)..<((user + 1) * PrefixLevels.recordSize)]
                }
            }
        }
        var unique = PrefixLevels(grid: grid, labels: labels)
        unique.levels = records
        return (unique, weights)
    }

    /// Puts `part`'s users (made apart, from 0) in place from user `first` on.
    mutating func copy(_ part: PrefixLevels, from first: Int) {
        let start = first * PrefixLevels.recordSize
        levels.replaceSubrange(start..<(start + part.levels.count), with: part.levels)
    }

    /// Whether the user had an event.
    public func hasEvents(_ user: Int) -> Bool { levels[user * PrefixLevels.recordSize + PrefixLevels.stride] != 0 }

    /// Whether the user's probability after its last event (its whole-history score) is at
    /// least `grid[index - 1]`.
    public func endsAtLevel(_ user: Int, atLeast index: Int) -> Bool {
        Int(levels[user * PrefixLevels.recordSize + PrefixLevels.stride]) - 1 >= index
    }
}

public enum PolicySearch {
    /// 0.05 to 0.95 by 0.05, then 0.97, 0.98, 0.99, 0.995, 0.999, and the model's threshold.
    public static func thresholdGrid(modelThreshold: Double) -> [Double] {
        let steps = (1...19).map { Double($0) / 20 } + [0.97, 0.98, 0.99, 0.995, 0.999]
        return Array(Set(steps + [modelThreshold])).sorted()
    }

    /// Minimum numbers of events, and the starts of a later band.
    static let minimums = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20]
    static let laterStarts = [3, 5, 10, 20]

    /// One candidate: from `minEvents` at grid threshold `early` (1-based), and from `later`
    /// (if any) at the lower `late`.
    public struct Candidate: Sendable, Equatable {
        public var minEvents: Int
        public var early: Int
        public var later: Int?
        public var late: Int

        public func policy(grid: [Double]) -> StreamPolicy {
            var bands = [StreamPolicy.Band(from: minEvents, threshold: grid[early - 1])]
            if let later { bands.append(StreamPolicy.Band(from: later, threshold: grid[late - 1])) }
            return StreamPolicy(bands: bands)
        }
    }

    /// What a candidate does on the training users.
    public struct Outcome: Sendable, Equatable {
        /// Σ over fakes of min(events seen when first flagged, 21), 21 when never within 20.
        public var cappedEventsToFlag: Int
        public var fakesCaught: Int
        public var realFlagged: Int

        /// Earlier catches first, then more fakes caught, then fewer real users flagged.
        public func isBetter(than other: Outcome) -> Bool {
            if cappedEventsToFlag != other.cappedEventsToFlag { return cappedEventsToFlag < other.cappedEventsToFlag }
            if fakesCaught != other.fakesCaught { return fakesCaught > other.fakesCaught }
            return realFlagged < other.realFlagged
        }
    }

    /// Band layouts (minimum, later start or nil), in the order candidates are tried.
    static var layouts: [(minEvents: Int, later: Int?)] {
        minimums.flatMap { m in [(m, nil)] + laterStarts.filter { $0 > m }.map { (m, $0) } }
    }

    /// Every candidate for a grid of `count` thresholds, in the order they are tried: on a
    /// tie the first wins, and higher thresholds come first.
    public static func candidates(gridCount count: Int) -> [Candidate] {
        layouts.flatMap { layout -> [Candidate] in
            if let later = layout.later {
                guard count >= 2 else { return [] }
                return (2...count).reversed().flatMap { early in
                    (1..<early).reversed().map { Candidate(minEvents: layout.minEvents, early: early, later: later, late: $0) }
                }
            }
            return (1...count).reversed().map { Candidate(minEvents: layout.minEvents, early: $0, later: nil, late: $0) }
        }
    }

    /// The best candidate that catches a fake and flags at most `maxRealFlagged` real users,
    /// with its outcome; nil when none does.
    public static func best(_ levels: PrefixLevels, maxRealFlagged: Int) -> (candidate: Candidate, outcome: Outcome)? {
        // Users with the same record count the same in every layout: judged once, weighted.
        let (unique, weights) = levels.deduplicated()
        let tables = parallelMap(layouts) { outcomes(unique, weights: weights, minEvents: $0.minEvents, later: $0.later) }
        var best: (candidate: Candidate, outcome: Outcome)?
        var layoutIndex = 0
        var previous: (Int, Int?)?
        for candidate in candidates(gridCount: levels.grid.count) {
            if let previous, previous != (candidate.minEvents, candidate.later) { layoutIndex += 1 }
            previous = (candidate.minEvents, candidate.later)
            let outcome = tables[layoutIndex].outcome(candidate)
            // A policy that catches no fake would meet any bound by never flagging.
            guard outcome.realFlagged <= maxRealFlagged, outcome.fakesCaught > 0 else { continue }
            if best == nil || outcome.isBetter(than: best!.outcome) { best = (candidate, outcome) }
        }
        return best
    }

    /// Every threshold pair's outcome for one band layout, from one pass over the users.
    /// Index g is a grid threshold (1-based): a band flags a user whose level reaches g.
    struct LayoutOutcomes {
        let size: Int  // grid count + 1
        let real: Int
        /// Two bands: real users not flagged, by (early, late) through 2-D prefix sums of
        /// (early band's highest level, late band's highest level); one band: by its level.
        var realNotFlagged: [Int]
        var capped: [Int]
        var caught: [Int]
        let twoBands: Bool

        func outcome(_ candidate: Candidate) -> Outcome {
            let at = twoBands ? candidate.early * size + candidate.late : candidate.early
            return Outcome(cappedEventsToFlag: capped[at], fakesCaught: caught[at], realFlagged: real - realNotFlagged[at])
        }
    }

    /// `weights`: how many users each record stands for (1 without).
    ///
    /// A fake adds to every threshold g at once: the events it had seen when its level first
    /// reached g (cap when never) and whether it was caught at g. As a user's level rises
    /// in a few jumps, each jump adds to a whole range of g, kept as a difference (+ at the
    /// range's start, − past its end) and summed over g once at the end: a few operations a
    /// user instead of a loop over the grid.
    static func outcomes(_ levels: PrefixLevels, weights: [Int]? = nil, minEvents m: Int, later: Int?) -> LayoutOutcomes {
        let count = levels.grid.count, size = count + 1, cap = PrefixLevels.horizon + 1
        let stride = PrefixLevels.stride, record = PrefixLevels.recordSize
        return levels.levels.withUnsafeBufferPointer { all in
            /// The highest level after events from..<to (1-based).
            func highest(_ base: Int, from: Int, to: Int) -> Int {
                var highest: UInt8 = 0
                for k in from..<to { highest = max(highest, all[base + k - 1]) }
                return Int(highest)
            }
            /// Adds `value` to levels from...through of a difference row.
            func add(_ value: Int, from: Int, through: Int, to differences: inout [Int], row: Int = 0) {
                guard from <= through else { return }
                differences[row + from] += value
                differences[row + through + 1] -= value
            }
            /// Over events from..<to: adds `weight` × the event at which each level was first
            /// reached to `differences` (from `row` on, levels 1...); returns the highest.
            func firstReached(_ base: Int, from: Int, to: Int, weight: Int, into differences: inout [Int], row: Int = 0) -> Int {
                var highest = 0
                for k in from..<to {
                    let level = Int(all[base + k - 1])
                    if level > highest {
                        add(weight * k, from: highest + 1, through: level, to: &differences, row: row)
                        highest = level
                    }
                }
                return highest
            }
            /// Running sums of a difference row: the values at levels 0..<size.
            func summed(_ differences: [Int], row: Int = 0) -> [Int] {
                var running = 0
                return (0..<size).map { g in
                    running += differences[row + g]
                    return running
                }
            }
            var real = 0
            guard let later else {
                var realByLevel = [Int](repeating: 0, count: size)
                var capped = [Int](repeating: 0, count: size + 1), caught = capped
                for user in levels.labels.indices {
                    let base = user * record, weight = weights?[user] ?? 1
                    if levels.labels[user] == 0 {
                        real += weight
                        realByLevel[highest(base, from: m, to: stride + 1)] += weight  // to the level after the horizon
                        continue
                    }
                    let highest = firstReached(base, from: m, to: stride, weight: weight, into: &capped)
                    add(weight * cap, from: highest + 1, through: count, to: &capped)
                    add(weight, from: 1, through: max(highest, Int(all[base + stride - 1])), to: &caught)
                }
                // Not flagged at g: the highest level is below g.
                var notFlagged = [Int](repeating: 0, count: size)
                for g in 1..<size { notFlagged[g] = notFlagged[g - 1] + realByLevel[g - 1] }
                return LayoutOutcomes(
                    size: size, real: real, realNotFlagged: notFlagged, capped: summed(capped), caught: summed(caught), twoBands: false)
            }
            var realByLevels = [Int](repeating: 0, count: size * size)
            var earlyCapped = [Int](repeating: 0, count: size + 1), earlyCaught = earlyCapped
            // By the early band's highest level e (a row each): fakes' late-band capped events
            // and catches at each late g.
            let width = size + 1
            var lateCappedRows = [Int](repeating: 0, count: size * width), lateCaughtRows = lateCappedRows
            for user in levels.labels.indices {
                let base = user * record, weight = weights?[user] ?? 1
                if levels.labels[user] == 0 {
                    real += weight
                    realByLevels[highest(base, from: m, to: later) * size + highest(base, from: later, to: stride + 1)] += weight
                    continue
                }
                let early = firstReached(base, from: m, to: later, weight: weight, into: &earlyCapped)
                add(weight, from: 1, through: early, to: &earlyCaught)
                let row = early * width
                let lateInWindow = firstReached(base, from: later, to: stride, weight: weight, into: &lateCappedRows, row: row)
                add(weight * cap, from: lateInWindow + 1, through: count, to: &lateCappedRows, row: row)
                add(weight, from: 1, through: max(lateInWindow, Int(all[base + stride - 1])), to: &lateCaughtRows, row: row)
            }
            let (earlyCappedSums, earlyCaughtSums) = (summed(earlyCapped), summed(earlyCaught))
            let lateCapped = (0..<size).flatMap { summed(lateCappedRows, row: $0 * width) }
            let lateCaught = (0..<size).flatMap { summed(lateCaughtRows, row: $0 * width) }
            // At (e, g): fakes flagged early (level ≥ e) by the early counts; the others (early
            // level below e) by the late ones, summed over their early levels.
            var capped = [Int](repeating: 0, count: size * size), caught = capped, notFlagged = capped
            var lateCappedBelow = [Int](repeating: 0, count: size), lateCaughtBelow = lateCappedBelow
            for e in 1..<size {
                for g in 1..<size {
                    lateCappedBelow[g] += lateCapped[(e - 1) * size + g]
                    lateCaughtBelow[g] += lateCaught[(e - 1) * size + g]
                    capped[e * size + g] = earlyCappedSums[e] + lateCappedBelow[g]
                    caught[e * size + g] = earlyCaughtSums[e] + lateCaughtBelow[g]
                    // Real users with early level < e and late level < g.
                    notFlagged[e * size + g] = notFlagged[(e - 1) * size + g] + notFlagged[e * size + g - 1]
                        - notFlagged[(e - 1) * size + g - 1] + realByLevels[(e - 1) * size + g - 1]
                }
            }
            return LayoutOutcomes(size: size, real: real, realNotFlagged: notFlagged, capped: capped, caught: caught, twoBands: true)
        }
    }
}

/// fu-fit's `--policy-bound`: how many real training users the chosen policy may ever flag.
public enum PolicyBound: Sendable, Equatable, CustomStringConvertible {
    /// As many as the model flags out of fold on their whole histories.
    case batch
    /// This share of the real users.
    case share(Double)

    /// Parses `batch` or a share between 0 and 1.
    public init(parsing text: String) throws {
        if text == "batch" {
            self = .batch
        } else if let value = Double(text), (0...1).contains(value) {
            self = .share(value)
        } else {
            throw ToolError.usage("--policy-bound must be 'batch' or a share of the real users between 0 and 1, not '\(text)'")
        }
    }

    public var description: String {
        switch self {
        case .batch: "batch"
        case .share(let value): "\(value)"
        }
    }
}

/// What fu-fit needs to choose a stream policy: the training users' events and the bound.
public struct PolicyRequest {
    public var events: TableReader
    public var bound: PolicyBound

    public init(events: TableReader, bound: PolicyBound) {
        self.events = events
        self.bound = bound
    }
}

extension PolicySearch {
    /// Scores each training user after each of its events (in the order they were read)
    /// with the model of its fold (fitted on the other folds), through the final model's
    /// calibration when it has one: what fu-watch would say of a user it had not trained on.
    public static func replayOutOfFold(
        _ read: PolicyEvents, labels: [UInt8], foldOfRow: [Int], foldModels: [Model], model: Model, grid: [Double]
    ) -> PrefixLevels {
        guard let (events, categories) = read.vocabularies else { return PrefixLevels(grid: grid, labels: labels) }
        let (grouped, eventsOfUser) = (read.grouped, read.starts)
        let rowCount = labels.count
        // Users in contiguous ranges, one a core; each range's levels made apart, then joined.
        let cores = max(1, min(sysconf(Int32(_SC_NPROCESSORS_ONLN)), rowCount / 64 + 1))
        let ranges = (0..<cores).map { c in (rowCount * c / cores)..<(rowCount * (c + 1) / cores) }
        let foldOfUser = foldOfRow.map { UInt8($0) }
        // Each prefix scored by its fold model's running sums (`PrefixScorer`), and through
        // the feature row only where those cannot tell the level.
        let set = FeatureSet(events: events, categories: categories, columnEvents: events.idsSortedByName())
        let parts = grouped.withUnsafeBufferPointer { grouped in
            foldModels.withUnsafeBufferPointer { foldModels in
                eventsOfUser.withUnsafeBufferPointer { starts in
                    parallelMap(ranges) { range in
                        replay(
                            range, grouped: grouped, starts: starts, folds: foldOfUser, foldModels: foldModels, model: model, set: set,
                            events: events, categories: categories, labels: labels, grid: grid)
                    }
                }
            }
        }
        var levels = PrefixLevels(grid: grid, labels: labels)
        for (range, part) in zip(ranges, parts) { levels.copy(part, from: range.lowerBound) }
        return levels
    }

    /// One range of users' levels (numbered from 0), on one thread.
    private static func replay(
        _ range: Range<Int>, grouped: UnsafeBufferPointer<UInt16>, starts: UnsafeBufferPointer<Int>, folds: [UInt8],
        foldModels: UnsafeBufferPointer<Model>, model: Model, set: FeatureSet, events: Vocabulary, categories: Vocabulary,
        labels: [UInt8], grid: [Double]
    ) -> PrefixLevels {
        var part = PrefixLevels(grid: grid, labels: Array(labels[range]))
        let counts = EventCounts(users: 1)
        _ = counts.addUser()
        let rows = CounterRows(features: model.features)
        var row = [Double](repeating: 0, count: model.features.count)
        /// The user's probability from its feature row, by the model of its fold.
        func exactProbability(_ fold: Int) -> Double {
            _ = rows.fill(&row, user: 0, counts: counts, events: events, categories: categories)
            // Through a buffer: indexing the array copied a Model (retaining its arrays).
            return model.probability(decision: row.withUnsafeBufferPointer { foldModels[fold].decisionValue($0) })
        }
        // Made per thread: shared, their arrays' reference counts bounced between the cores.
        let scorers = foldModels.map { PrefixScorer(model: $0, calibratedBy: model, set: set, eventTypes: events.count, grid: grid) }
        let running = PrefixScorer.User(eventTypes: events.count, categories: categories.count)
        for user in range {
            counts.clear(user: 0)
            let fold = Int(folds[user]), at = user - range.lowerBound
            let codes = UnsafeBufferPointer(rebasing: grouped[starts[user]..<starts[user + 1]])
            guard let scorer = scorers[fold] else {
                for (k, code) in zip(1..., codes) {
                    counts.add(user: 0, event: Int(code >> 8), category: Int(code & 0xFF))
                    part.record(user: at, events: k, probability: exactProbability(fold))
                }
                continue
            }
            // The exact counters catch up only when a prefix needs them: they rarely do.
            var counted = 0
            for (k, code) in zip(1..., codes) {
                if let level = scorer.add(code, to: running) {
                    part.record(user: at, events: k, level: level)
                } else {
                    for code in codes[counted..<k] { counts.add(user: 0, event: Int(code >> 8), category: Int(code & 0xFF)) }
                    counted = k
                    part.record(user: at, events: k, probability: exactProbability(fold))
                }
            }
            running.reset(codes)
        }
        return part
    }

    /// The chosen policy with its out-of-fold figures (`chosen_on`), or an error saying the
    /// bound cannot be met.
    public static func choose(_ levels: PrefixLevels, model: Model, bound: PolicyBound, folds: Int, seed: UInt64) throws -> StreamPolicy {
        let real = levels.labels.count { $0 == 0 }
        // The grid holds the model's threshold: its level says whether a whole history is flagged.
        guard let thresholdLevel = levels.grid.firstIndex(of: model.threshold).map({ $0 + 1 }) else {
            preconditionFailure("the grid holds the model's threshold")
        }
        let batchFlagged = levels.labels.indices.count { levels.labels[$0] == 0 && levels.endsAtLevel($0, atLeast: thresholdLevel) }
        let limit: Int
        switch bound {
        case .batch: limit = batchFlagged
        case .share(let share): limit = Int((share * Double(real)).rounded(.down))
        }
        guard let (candidate, outcome) = best(levels, maxRealFlagged: limit) else {
            throw ToolError.data(
                "no stream policy catches a fake while flagging at most \(limit) of the \(real) real training users (--policy-bound \(bound)): allow more with --policy-bound")
        }
        var policy = candidate.policy(grid: levels.grid)
        let fakes = levels.labels.count - real
        policy.chosenOn = .object([
            ("method", .string("\(folds)-fold out-of-fold replay of the training users' events")),
            ("seed", .integer(Int(truncatingIfNeeded: seed))),
            ("bound", .string(bound.description)),
            ("real_users", .integer(real)),
            ("real_flagged_batch", .integer(batchFlagged)),
            ("max_real_ever_flagged", .integer(limit)),
            ("real_ever_flagged", .integer(outcome.realFlagged)),
            ("fakes", .integer(fakes)),
            ("fakes_caught", .integer(outcome.fakesCaught)),
            ("mean_events_to_flag_capped_21", .number(fakes == 0 ? 0 : Double(outcome.cappedEventsToFlag) / Double(fakes))),
        ])
        return policy
    }
}

/// The training users' events for the policy search, grouped by user in the table's row
/// order: only each user's own events in order matter, not how users interleave. Read
/// while the folds are fitted (`fitModel`), on a thread of its own.
public struct PolicyEvents {
    /// Each event as its type << 8 | its category (at most 64 of each), user by user.
    let grouped: [UInt16]
    /// Where each user's events start in `grouped`, and the end.
    let starts: [Int]
    /// The parser's last vocabularies; nil when there were no events. They serve every
    /// event: they may hold types of later events, which change no feature value of a user
    /// that has not shown them.
    let vocabularies: (events: Vocabulary, categories: Vocabulary)?

    /// Every user of the events must be a row of `table`, and every row must have events.
    /// `abandoned` is asked between batches: when it says so, reading stops (and throws).
    init(reading reader: TableReader, table: FeatureTable, until abandoned: () -> Bool = { false }) throws {
        // Users numbered as the table's rows: the ids first, in row order.
        let index = UserIndex()
        for id in table.ids {
            var id = id
            _ = id.withUTF8 { index.findOrInsert($0, hash: stableHash($0)) }
        }
        // Read whole, then grouped by user, so that the replay goes user by user with the
        // user's counters in cache, on every core. Each event is first put in the bucket of
        // its user's block of rows (`blockRows` users, whose counters fit the L1 cache), then
        // each bucket is sorted by a counting sort: two passes that stay in the caches,
        // where one counting sort over all users would miss them twice an event.
        let blockShift = 12, blockRows = 1 << 12
        // An event as its user's place in the block << 16 | type << 8 | category (at most 64
        // of each). Not Arrays: an Array checks its uniqueness on every append.
        let buckets = UnsafeMutableBufferPointer<SlotRecords<UInt32>>.allocate(capacity: (table.rowCount + blockRows - 1) >> blockShift)
        for b in buckets.indices { (buckets.baseAddress! + b).initialize(to: SlotRecords(capacity: 64)) }
        defer {
            for b in buckets.indices { buckets[b].deallocate() }
            buckets.deallocate()
        }
        var eventCount = 0
        // Parsed on fu-featurize's background thread, in batches; each block's index slots
        // are loaded first, as fu-featurize does, so the misses overlap.
        let stage = ParseStage(parser: try EventRowParser(reader: reader, events: []), shard: nil, maxRows: nil, progress: nil)
        let name = reader.name
        defer { stage.stop() }
        var vocabularies: (events: Vocabulary, categories: Vocabulary)?
        while let batch = try stage.nextBatch() {
            if abandoned() { throw ToolError(.software, "the policy's events were not needed: the fit failed first") }
            // Counts, places and a user's running counts (`PrefixScorer`) fit 32 bits.
            guard eventCount + batch.count < Int(Int32.max) else {
                throw ToolError.data("more than \(Int32.max - 1) events in the --policy-events input: sample the training users", at: reader.location())
            }
            // A few hundred at a time: the slots loaded ahead must still be in the caches,
            // and their pages in the TLB, when they are used.
            for block in stride(from: 0, to: batch.count, by: 256) {
                let rows = block..<min(block + 256, batch.count)
                for i in rows { batch.touched[i] = index.touch(hash: batch.hashes[i]) }
                for i in rows {
                    let user = index.findOrInsert(batch.id(i), hash: batch.hashes[i])
                    guard user < table.rowCount else {
                        throw ToolError.data(
                            "user '\(String(decoding: batch.id(i), as: UTF8.self))' is not among the training users: --policy-events takes their events only",
                            at: InputLocation(file: name, line: batch.lines[i]))
                    }
                    buckets[user >> blockShift].append(UInt32(user & (blockRows - 1)) << 16 | UInt32(batch.events[i]) << 8 | UInt32(batch.categories[i]))
                }
            }
            eventCount += batch.count
            vocabularies = batch.vocabularies
            stage.recycle(batch)
        }
        self.vocabularies = vocabularies
        // Where each user's events start, and the end.
        var starts = [Int](repeating: 0, count: table.rowCount + 1)
        var next = [Int](repeating: 0, count: blockRows)  // a user's count, then its next place
        var placed = 0
        // Left uninitialized, so that its pages are committed as buckets fill them and the
        // buckets before are freed: each bucket fills one range, and every place once.
        let grouped = try [UInt16](unsafeUninitializedCapacity: eventCount) { grouped, initialized in
            for b in buckets.indices {
                let first = b << blockShift, users = min(blockRows, table.rowCount - first)
                for u in 0..<users { next[u] = 0 }
                let bucket = UnsafeBufferPointer(start: buckets[b].pointer(0), count: buckets[b].count)
                for event in bucket { next[Int(event >> 16)] += 1 }
                if let silent = next[0..<users].firstIndex(of: 0) {
                    throw ToolError.data("training user '\(table.ids[first + silent])' has no events in the --policy-events input", at: reader.location())
                }
                for u in 0..<users {
                    starts[first + u] = placed
                    (placed, next[u]) = (placed + next[u], placed)
                }
                for event in bucket {
                    let u = Int(event >> 16)
                    grouped[next[u]] = UInt16(truncatingIfNeeded: event)
                    next[u] += 1
                }
                buckets[b].deallocate()
                buckets[b] = SlotRecords(capacity: 1)
            }
            initialized = eventCount
        }
        starts[table.rowCount] = placed
        (self.grouped, self.starts) = (grouped, starts)
    }
}
