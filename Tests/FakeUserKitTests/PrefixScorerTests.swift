import Foundation
import Testing
@testable import FakeUserKit

/// The policy search's running-sum scorer against the exact way (the feature row, as
/// fu-featurize computes it, and `Model.decisionValue`): every level it gives equals the
/// exact one, it declines exactly-on-threshold prefixes, and declines little else.
@Suite struct PrefixScorerTests {
    static let facts = TrainingFacts(
        rows: 0, positives: 0, cost: 1, weighting: .balanced, classWeights: (1, 1), iterations: 0, converged: true,
        gradientNorm: 0, stopReason: nil, thresholdSource: "default", seed: nil, folds: nil)

    /// One user's exact probabilities after each of its events: `fold`'s decision value on
    /// the feature row, through `final`'s calibration (the replay's exact path).
    static func exactProbabilities(_ codes: [UInt16], fold: Model, final: Model, events: Vocabulary, categories: Vocabulary) -> [Double] {
        let counts = EventCounts(users: 1)
        _ = counts.addUser()
        let rows = CounterRows(features: fold.features)
        var row = [Double](repeating: 0, count: fold.features.count)
        return codes.map { code in
            counts.add(user: 0, event: Int(code >> 8), category: Int(code & 0xFF))
            _ = rows.fill(&row, user: 0, counts: counts, events: events, categories: categories)
            return final.probability(decision: row.withUnsafeBufferPointer { fold.decisionValue($0) })
        }
    }

    /// Checks every prefix of `histories`: a level given equals the exact one; a
    /// probability that is a grid threshold is declined. Returns the prefixes declined
    /// that are not on a threshold, and all prefixes.
    static func check(
        _ histories: [[UInt16]], fold: Model, final: Model, events: Vocabulary, categories: Vocabulary, grid: [Double]
    ) throws -> (declinedElsewhere: Int, prefixes: Int) {
        let set = FeatureSet(events: events, categories: categories, columnEvents: events.idsSortedByName())
        let scorer = try #require(PrefixScorer(model: fold, calibratedBy: final, set: set, eventTypes: events.count, grid: grid))
        let running = PrefixScorer.User(eventTypes: events.count, categories: categories.count)
        var declinedElsewhere = 0, prefixes = 0
        for codes in histories {
            for (code, p) in zip(codes, exactProbabilities(codes, fold: fold, final: final, events: events, categories: categories)) {
                prefixes += 1
                if let level = scorer.add(code, to: running) {
                    #expect(level == grid.count { $0 <= p }, "p \(p)")
                    #expect(!grid.contains(p), "a prefix exactly on a threshold must be declined")
                } else if !grid.contains(p) {
                    declinedElsewhere += 1
                }
            }
            codes.withUnsafeBufferPointer { running.reset($0) }
        }
        return (declinedElsewhere, prefixes)
    }

    enum Calibrated: CaseIterable, Sendable { case none, ordinary, tinySlope, flat }

    /// Random vocabularies (types of the real data and others), random models over the
    /// columns (some features missing from the vocabulary), a fold model apart from the
    /// final model's calibration, and thresholds that some prefixes' probabilities equal.
    @Test(arguments: [UInt64(1), 2, 3, 4], Calibrated.allCases)
    func levelsEqualTheFeatureRows(seed: UInt64, calibrated: Calibrated) throws {
        var random = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        let typeNames = (standardEventTypes + ["view", "share", "report_ad"]).shuffled(using: &random).prefix(2 + below(6))
        let events = Vocabulary(Array(typeNames))
        let categories = Vocabulary((0..<(1 + below(64))).map { "c\($0)" })
        let set = FeatureSet(events: events, categories: categories, columnEvents: events.idsSortedByName())
        let features = set.columnNames.filter { _ in below(5) > 0 } + ["phone_call", "send_sms_ratio", "nowhere"]
        let count = features.count
        let fold = Model(
            features: features, scaler: StandardScaler(mean: (0..<count).map { _ in uniform() * 3 }, scale: (0..<count).map { _ in 0.1 + uniform() * 4 }),
            coefficients: (0..<count).map { _ in uniform() * 4 - 2 }, intercept: uniform() * 2 - 1, threshold: 0.5, training: PrefixScorerTests.facts)
        var final = fold
        switch calibrated {
        case .none: break
        case .ordinary: final.calibration = Calibration(a: uniform() * 4 - 2, b: uniform() - 0.5)
        case .tinySlope: final.calibration = Calibration(a: -1e-7, b: uniform() - 0.5)
        case .flat: final.calibration = Calibration(a: 0, b: uniform() - 0.5)
        }
        let histories = (0..<300).map { _ in (0..<(1 + below(60))).map { _ in UInt16(below(events.count)) << 8 | UInt16(below(categories.count)) } }
        // Thresholds equal to some exact probabilities of the first users: the scorer must
        // decline those (the exact level flips there). Not within 1e-9 of 0 or 1, where every
        // user that far out would be declined (`thresholdsNearOne`).
        let onGrid = histories.prefix(3).flatMap { Self.exactProbabilities($0, fold: fold, final: final, events: events, categories: categories) }
            .filter { $0 > 1e-9 && $0 < 1 - 1e-9 }.prefix(4)
        let grid = Array(Set(PolicySearch.thresholdGrid(modelThreshold: 0.5) + onGrid)).sorted()
        let (declined, prefixes) = try Self.check(histories, fold: fold, final: final, events: events, categories: categories, grid: grid)
        #expect(declined <= prefixes / 1000, "\(declined) of \(prefixes) declined")
    }

    /// Thresholds near 1 (a model's own threshold may be a confident user's score): there
    /// the sigmoid rounds in steps far wider than the sums' error, and a threshold taken
    /// from the decision space would be off by one level.
    @Test func thresholdsNearOne() throws {
        let events = Vocabulary(standardEventTypes), categories = Vocabulary(["a", "b"])
        let model = Model(
            features: ["total_events"], scaler: StandardScaler(mean: [0], scale: [1]), coefficients: [1], intercept: 0, threshold: 0.5,
            training: PrefixScorerTests.facts)
        let grid = Array(Set((15...36).map { sigmoid(Double($0)) } + [0.5])).sorted()
        let history = (0..<40).map { UInt16($0 % 5) << 8 | UInt16($0 % 2) }
        let (declined, _) = try Self.check([history, history], fold: model, final: model, events: events, categories: categories, grid: grid)
        // Declined besides the thresholds themselves: only past 36 events, where p rounds to
        // 1, two ulps from sigmoid(36).
        #expect(declined <= 8, "\(declined) declined")
    }

    /// The replay over users read from a file (interleaved, the table's rows in another
    /// order, two folds) gives every prefix the exact level, also where the running sums
    /// decline and the exact counters must catch up with the events before it.
    @Test(arguments: [UInt64(11), 12, 13])
    func theReplayEqualsTheExactLevels(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        let typeNames = Array(standardEventTypes.shuffled(using: &random).prefix(2 + below(4)))
        let categoryNames = (0..<(1 + below(5))).map { "c\($0)" }
        let users = 120
        let histories = (0..<users).map { _ in (0..<(1 + below(30))).map { _ in (below(typeNames.count), below(categoryNames.count)) } }
        // Arrival order: users' events interleaved at random, each user's in its order.
        var next = [Int](repeating: 0, count: users), csv = "UserId,Event,Category\n"
        var left = histories.map(\.count).reduce(0, +)
        while left > 0 {
            let user = below(users)
            guard next[user] < histories[user].count else { continue }
            let (t, c) = histories[user][next[user]]
            csv += "U\(user),\(typeNames[t]),\(categoryNames[c])\n"
            next[user] += 1
            left -= 1
        }
        let rows = Array(0..<users).shuffled(using: &random)  // row r holds user rows[r]
        let table = FeatureTable(ids: rows.map { "U\($0)" }, labels: rows.map { UInt8($0 % 2) }, names: [], values: [])
        let read = try PolicyEvents(reading: TableReader(ByteInput(bytes: Array(csv.utf8), name: "events.csv")), table: table)
        let (events, categories) = try #require(read.vocabularies)
        let set = FeatureSet(events: events, categories: categories, columnEvents: events.idsSortedByName())
        let count = set.columnNames.count
        let folds = (0..<2).map { _ in
            Model(
                features: set.columnNames, scaler: StandardScaler(mean: (0..<count).map { _ in uniform() }, scale: (0..<count).map { _ in 0.5 + uniform() }),
                coefficients: (0..<count).map { _ in uniform() * 2 - 1 }, intercept: uniform() - 0.5, threshold: 0.5, training: PrefixScorerTests.facts)
        }
        var final = folds[0]
        final.calibration = Calibration(a: 0.5 + uniform(), b: uniform() - 0.5)
        let foldOfRow = (0..<users).map { _ in below(2) }
        let exact = rows.enumerated().map { row, user in
            let codes = histories[user].map { UInt16(events.lookup(typeNames[$0.0])!) << 8 | UInt16(categories.lookup(categoryNames[$0.1])!) }
            return Self.exactProbabilities(codes, fold: folds[foldOfRow[row]], final: final, events: events, categories: categories)
        }
        // Thresholds on prefixes' own probabilities, late in long histories among them.
        let onGrid = exact.filter { $0.count > 10 }.prefix(6).flatMap { [$0[$0.count / 2], $0[$0.count - 1]] }
        let grid = Array(Set(PolicySearch.thresholdGrid(modelThreshold: 0.5) + onGrid)).sorted()
        let replayed = PolicySearch.replayOutOfFold(read, labels: table.labels!, foldOfRow: foldOfRow, foldModels: folds, model: final, grid: grid)
        let expected = PrefixLevels(grid: grid, labels: table.labels!, probabilities: exact)
        let wrong = zip(replayed.levels, expected.levels).count { $0 != $1 }
        #expect(replayed.levels.count == expected.levels.count && wrong == 0, "\(wrong) of \(expected.levels.count) levels differ")
    }

    /// fu-watch's bounded verdicts: the probability taken from a user's counters is within
    /// its tolerance of the exact one (the feature row and `Model.probability`) after every
    /// event, and when said to be below a sigmoid argument, the exact one is below its
    /// sigmoid; for random models and calibrations, histories past the share tables (64
    /// events) and the c·log c table (4096), and 32-bit counters (a count past 65,535).
    @Test(arguments: [UInt64(21), 22, 23], Calibrated.allCases)
    func countersProbabilitiesBoundTheExactOnes(seed: UInt64, calibrated: Calibrated) throws {
        var random = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        let events = Vocabulary(Array((standardEventTypes + ["view", "share"]).shuffled(using: &random).prefix(2 + below(6))))
        let categories = Vocabulary((0..<(1 + below(12))).map { "c\($0)" })
        let set = FeatureSet(events: events, categories: categories, columnEvents: events.idsSortedByName())
        let features = set.columnNames.filter { _ in below(5) > 0 } + ["nowhere"]
        let count = features.count
        var model = Model(
            features: features, scaler: StandardScaler(mean: (0..<count).map { _ in uniform() * 3 }, scale: (0..<count).map { _ in 0.1 + uniform() * 4 }),
            coefficients: (0..<count).map { _ in uniform() * 4 - 2 }, intercept: uniform() * 2 - 1, threshold: 0.5, training: PrefixScorerTests.facts)
        switch calibrated {
        case .none: break
        case .ordinary: model.calibration = Calibration(a: uniform() * 4 - 2, b: uniform() - 0.5)
        case .tinySlope: model.calibration = Calibration(a: -1e-7, b: uniform() - 0.5)
        case .flat: model.calibration = Calibration(a: 0, b: uniform() - 0.5)
        }
        let scorer = try #require(PrefixScorer(model: model, calibratedBy: model, set: set, eventTypes: events.count, grid: []))
        let rows = CounterRows(features: features)
        var row = [Double](repeating: 0, count: count)
        // Arguments some users' probabilities are near, and far below (-∞: never `.below`).
        let cutoffs = [-Double.infinity, -3, -0.5, 0, 0.7, 2.9]
        var belowCount = 0
        func check(_ counts: EventCounts, user: Int, events seen: Int) -> Bool {
            _ = rows.fill(&row, user: user, counts: counts, events: events, categories: categories)
            let exact = row.withUnsafeBufferPointer { model.probability($0) }
            let cutoff = cutoffs[below(cutoffs.count)]
            switch scorer.probability(user: user, counts: counts, categories: categories.count, below: cutoff) {
            case nil: return false
            case .below(let counted):
                #expect(counted == seen)
                #expect(exact <= sigmoid(cutoff), "exact \(exact) above sigmoid(\(cutoff))")
                belowCount += 1
            case .near(let p, let tolerance, let counted):
                #expect(counted == seen)
                #expect(abs(p - exact) <= tolerance, "p \(p), exact \(exact), tolerance \(tolerance)")
            }
            return true
        }
        // 40 users, one of them long: every prefix.
        let counts = EventCounts(users: 41)
        var declined = 0, prefixes = 0
        for user in 0..<40 {
            _ = counts.addUser()
            let length = user == 0 ? 5000 : 1 + below(120)
            for k in 1...length {
                counts.add(user: user, event: below(user == 0 ? 2 : events.count), category: below(categories.count))
                prefixes += 1
                if !check(counts, user: user, events: k) { declined += 1 }
            }
        }
        #expect(declined <= prefixes / 1000, "\(declined) of \(prefixes) declined")
        if calibrated != .flat { #expect(belowCount > prefixes / 20, "only \(belowCount) of \(prefixes) below a cutoff") }
        // A count past 65,535 widens every user's counters to 32 bits.
        _ = counts.addUser()
        for _ in 0..<70_000 { counts.add(user: 40, event: 0, category: 0) }
        #expect(counts.counterBytes == 4)
        _ = check(counts, user: 40, events: 70_000)
        // Counts past Int32's range, as a saved state may hold (up to 2³² − 1): bounded or
        // declined, never a trap (an Int32 conversion read the c·log c table at a negative index).
        _ = counts.addUser()
        counts.restore(user: 41, events: [(0, 3_000_000_000), (1, 5)], categories: [(0, 3_000_000_005)], pairs: [(0, 0), (1, 0)])
        _ = check(counts, user: 41, events: 3_000_000_005)
        _ = check(counts, user: 1, events: (0..<events.count).reduce(0) { $0 + counts.eventCount(user: 1, event: $1) })
    }

    /// `FeatureSet.columns` says what `FeatureSet.values` computes, column by column.
    @Test(arguments: [UInt64(5), 6, 7])
    func columnsDescribeTheValues(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let events = Vocabulary(Array((standardEventTypes + ["view", "share"]).shuffled(using: &random).prefix(1 + below(7))))
        let categories = Vocabulary((0..<(1 + below(64))).map { "c\($0)" })
        let set = FeatureSet(events: events, categories: categories, columnEvents: events.idsSortedByName())
        let counts = EventCounts(users: 1)
        _ = counts.addUser()
        var typeCounts = [Int](repeating: 0, count: events.count), categoryCounts = [Int](repeating: 0, count: categories.count)
        var pairs = Set<Int>()
        for _ in 0..<(1 + below(500)) {
            let (t, c) = (below(events.count), below(categories.count))
            counts.add(user: 0, event: t, category: c)
            typeCounts[t] += 1
            categoryCounts[c] += 1
            pairs.insert(t * 64 + c)
        }
        let n = Double(typeCounts.reduce(0, +))
        func entropy(_ counts: [Int]) -> Double { counts.filter { $0 > 0 }.reduce(0) { $0 - Double($1) / n * log(Double($1) / n) } }
        let uniqueCategories = Double(categoryCounts.count { $0 > 0 })
        let expected: [Double] = set.columns.map { column in
            switch column {
            case .totalEvents: n
            case .share(let types): Double(types.reduce(0) { $0 + typeCounts[$1] }) / n
            case .count(let t): Double(typeCounts[t])
            case .uniqueCategories: uniqueCategories
            case .eventsPerCategory: n / uniqueCategories
            case .uniqueEvents: Double(typeCounts.count { $0 > 0 })
            case .eventEntropy: entropy(typeCounts)
            case .categoryEntropy: entropy(categoryCounts)
            case .topCategoryShare: Double(categoryCounts.max()!) / n
            case .distinctPairs: Double(pairs.count)
            }
        }
        var values = [Double](repeating: 0, count: set.columnNames.count)
        values.withUnsafeMutableBufferPointer { set.values(user: 0, counts: counts, into: $0) }
        #expect(expected.count == values.count)
        for (name, (want, got)) in zip(set.columnNames, zip(expected, values)) {
            #expect(abs(want - got) <= 1e-12 * max(1, abs(want)), "\(name): \(want) against \(got)")
        }
    }
}
