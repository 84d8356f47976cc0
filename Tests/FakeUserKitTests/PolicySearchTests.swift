import Foundation
import Testing
@testable import FakeUserKit

/// The stream policy search (fu-fit --policy-events) against a brute force: every candidate
/// replayed literally over each user's probabilities, event by event.
@Suite struct PolicySearchTests {
    /// Users with random histories (1 to 30 events) and probabilities, some exactly on grid
    /// thresholds so that "at or above" is tested.
    func randomCase(users: Int, seed: UInt64) -> (labels: [UInt8], probabilities: [[Double]], grid: [Double]) {
        var random = SplitMix64(seed: seed)
        let grid = PolicySearch.thresholdGrid(modelThreshold: 0.5)
        var labels: [UInt8] = [], probabilities: [[Double]] = []
        for _ in 0..<users {
            let fake = random.below(4) == 0
            labels.append(fake ? 1 : 0)
            let length = 1 + random.below(30)
            var level = fake ? 0.4 : 0.1
            probabilities.append((0..<length).map { _ in
                level = min(fake ? 1 : 0.985, max(0, level + (Double(random.below(1000)) / 1000 - (fake ? 0.4 : 0.55)) * 0.3))
                return random.below(5) == 0 ? grid[random.below(grid.count - 3)] : level
            })
        }
        return (labels, probabilities, grid)
    }

    /// What a policy does, by replaying each user's events one by one.
    func bruteOutcome(_ policy: StreamPolicy, labels: [UInt8], probabilities: [[Double]]) -> PolicySearch.Outcome {
        var capped = 0, caught = 0, real = 0
        for (label, sequence) in zip(labels, probabilities) {
            let first = sequence.indices.first { policy.flags(sequence[$0], events: $0 + 1) }.map { $0 + 1 }
            if label == 1 {
                capped += min(first ?? 21, 21)
                if first != nil { caught += 1 }
            } else if first != nil {
                real += 1
            }
        }
        return PolicySearch.Outcome(cappedEventsToFlag: capped, fakesCaught: caught, realFlagged: real)
    }

    @Test(arguments: [(1 as UInt64, 0), (2, 3), (3, 10), (4, 1000), (5, 25)])
    func searchEqualsBruteForce(seed: UInt64, bound: Int) {
        let (labels, probabilities, grid) = randomCase(users: 150, seed: seed)
        let levels = PrefixLevels(grid: grid, labels: labels, probabilities: probabilities)
        var brute: (PolicySearch.Candidate, PolicySearch.Outcome)?
        for candidate in PolicySearch.candidates(gridCount: grid.count) {
            let outcome = bruteOutcome(candidate.policy(grid: grid), labels: labels, probabilities: probabilities)
            guard outcome.realFlagged <= bound, outcome.fakesCaught > 0 else { continue }
            // Fewer capped events, then more fakes caught, then fewer real users; the first on a tie.
            if let (_, b) = brute,
               (outcome.cappedEventsToFlag, -outcome.fakesCaught, outcome.realFlagged) >= (b.cappedEventsToFlag, -b.fakesCaught, b.realFlagged) {
                continue
            }
            brute = (candidate, outcome)
        }
        let found = PolicySearch.best(levels, maxRealFlagged: bound)
        #expect(found?.candidate == brute?.0 && found?.outcome == brute?.1, "seed \(seed)")
        #expect(found != nil)
    }

    /// Users with the same record are judged once, weighted: the search over users repeated
    /// three times (and many alike) equals the brute force over all of them.
    /// The events, read interleaved, come out grouped by the table's rows in their order,
    /// over several of the grouping's blocks of 4,096 rows (the last one partial); a
    /// training user without events is named, the first in row order.
    @Test func eventsAreGroupedByRowAcrossBlocks() throws {
        var random = SplitMix64(seed: 21)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let typeNames = ["click_ad", "send_sms", "phone_call"], categoryNames = ["a", "b"]
        let users = 2 * 4096 + 37
        let histories = (0..<users).map { _ in (0..<(1 + below(3))).map { _ in (below(typeNames.count), below(categoryNames.count)) } }
        var next = [Int](repeating: 0, count: users), csv = "UserId,Event,Category\n"
        var pending = Array(0..<users)  // users with events left
        while !pending.isEmpty {
            let at = below(pending.count), user = pending[at]
            let (t, c) = histories[user][next[user]]
            csv += "U\(user),\(typeNames[t]),\(categoryNames[c])\n"
            next[user] += 1
            if next[user] == histories[user].count { pending.swapAt(at, pending.count - 1); pending.removeLast() }
        }
        let rows = Array(0..<users).shuffled(using: &random)
        func table(_ ids: [String]) -> FeatureTable { FeatureTable(ids: ids, labels: ids.map { _ in 0 }, names: [], values: []) }
        func read(_ ids: [String]) throws -> PolicyEvents {
            try PolicyEvents(reading: TableReader(ByteInput(bytes: Array(csv.utf8), name: "events.csv")), table: table(ids))
        }
        let grouped = try read(rows.map { "U\($0)" })
        let (events, categories) = try #require(grouped.vocabularies)
        #expect(grouped.starts.count == users + 1 && grouped.starts.last == grouped.grouped.count)
        let wrong = rows.enumerated().count { row, user in
            let expected = histories[user].map { UInt16(events.lookup(typeNames[$0.0])!) << 8 | UInt16(categories.lookup(categoryNames[$0.1])!) }
            return Array(grouped.grouped[grouped.starts[row]..<grouped.starts[row + 1]]) != expected
        }
        #expect(wrong == 0, "\(wrong) of \(users) users' events differ")
        // Two training users without events, in the second and third blocks.
        var ids = rows.map { "U\($0)" }
        ids.insert("SILENT", at: 4096 + 5)
        ids.insert("LATER", at: 2 * 4096 + 20)
        #expect(throws: ToolError.self) { try read(ids) }
        do {
            _ = try read(ids)
        } catch let error as ToolError {
            #expect(error.message.hasPrefix("training user 'SILENT' has no events in the --policy-events input"), "\(error.message)")
        }
    }

    @Test func repeatedUsersCountByTheirNumber() {
        let (labels, probabilities, grid) = randomCase(users: 60, seed: 7)
        let quiet = [[Double]](repeating: [0.01, 0.02, 0.01], count: 40)
        let (allLabels, allProbabilities) = (labels + labels + labels + [UInt8](repeating: 0, count: 40), probabilities + probabilities + probabilities + quiet)
        let levels = PrefixLevels(grid: grid, labels: allLabels, probabilities: allProbabilities)
        let (unique, weights) = levels.deduplicated()
        #expect(unique.labels.count <= 61 && weights.reduce(0, +) == allLabels.count)
        for bound in [0, 3, 30] {
            let found = PolicySearch.best(levels, maxRealFlagged: bound)
            if let found {
                #expect(bruteOutcome(found.candidate.policy(grid: grid), labels: allLabels, probabilities: allProbabilities) == found.outcome)
            }
            let once = PolicySearch.best(PrefixLevels(grid: grid, labels: labels, probabilities: probabilities), maxRealFlagged: bound / 3)
            #expect(found?.outcome.cappedEventsToFlag == once.map { $0.outcome.cappedEventsToFlag * 3 })
        }
    }

    /// Every candidate's outcome from the tables equals its literal replay (not just the best).
    @Test func everyCandidateOutcomeEqualsItsReplay() {
        let (labels, probabilities, grid) = randomCase(users: 80, seed: 11)
        let levels = PrefixLevels(grid: grid, labels: labels, probabilities: probabilities)
        let tables = PolicySearch.layouts.map { PolicySearch.outcomes(levels, minEvents: $0.minEvents, later: $0.later) }
        var checked = 0
        for (index, layout) in PolicySearch.layouts.enumerated() {
            for candidate in PolicySearch.candidates(gridCount: grid.count) where candidate.minEvents == layout.minEvents && candidate.later == layout.later {
                #expect(tables[index].outcome(candidate) == bruteOutcome(candidate.policy(grid: grid), labels: labels, probabilities: probabilities))
                checked += 1
            }
        }
        #expect(checked == PolicySearch.candidates(gridCount: grid.count).count)
    }

    /// The chosen policy never flags more real users than the bound allows, and a looser
    /// bound never catches fakes later.
    @Test func theBoundIsHonoured() throws {
        let (labels, probabilities, grid) = randomCase(users: 300, seed: 21)
        let levels = PrefixLevels(grid: grid, labels: labels, probabilities: probabilities)
        let real = labels.count { $0 == 0 }
        var previous: PolicySearch.Outcome?
        for bound in [0, 1, 2, 5, 10, 20, 50, real] {
            guard let (candidate, outcome) = PolicySearch.best(levels, maxRealFlagged: bound) else { continue }
            let replayed = bruteOutcome(candidate.policy(grid: grid), labels: labels, probabilities: probabilities)
            #expect(replayed.realFlagged <= bound && replayed == outcome, "bound \(bound)")
            if let previous { #expect(outcome.cappedEventsToFlag <= previous.cappedEventsToFlag) }
            previous = outcome
        }
        // Through `choose`: batch is the real users flagged on their whole histories.
        let model = Model(
            features: ["total_events"], scaler: StandardScaler(mean: [0], scale: [1]), coefficients: [0], intercept: 0, threshold: 0.5,
            training: TrainingFacts(rows: 0, positives: 0, cost: 1, weighting: .balanced, classWeights: (1, 1), iterations: 0, converged: true,
                                    gradientNorm: 0, stopReason: nil, thresholdSource: "default", seed: nil, folds: nil))
        let batch = zip(labels, probabilities).count { $0.0 == 0 && $0.1.last! >= 0.5 }
        let policy = try PolicySearch.choose(levels, model: model, bound: .batch, folds: 5, seed: 1)
        let facts = try #require(policy.chosenOn)
        #expect(facts["real_flagged_batch"]?.intValue == batch && facts["max_real_ever_flagged"]?.intValue == batch)
        #expect(bruteOutcome(policy, labels: labels, probabilities: probabilities).realFlagged <= batch)
        let tight = try PolicySearch.choose(levels, model: model, bound: .share(0.01), folds: 5, seed: 1)
        #expect(bruteOutcome(tight, labels: labels, probabilities: probabilities).realFlagged <= real / 100)
    }

    /// No candidate meets an impossible bound: an error saying how to loosen it.
    @Test func anImpossibleBoundIsAnError() throws {
        let grid = PolicySearch.thresholdGrid(modelThreshold: 0.5)
        let levels = PrefixLevels(grid: grid, labels: [0, 1], probabilities: [[1, 1], [0.2, 1]])
        let model = Model(
            features: ["total_events"], scaler: StandardScaler(mean: [0], scale: [1]), coefficients: [0], intercept: 0, threshold: 0.5,
            training: TrainingFacts(rows: 0, positives: 0, cost: 1, weighting: .balanced, classWeights: (1, 1), iterations: 0, converged: true,
                                    gradientNorm: 0, stopReason: nil, thresholdSource: "default", seed: nil, folds: nil))
        #expect(throws: ToolError.data("no stream policy catches a fake while flagging at most 0 of the 1 real training users (--policy-bound 0.0): allow more with --policy-bound")) {
            try PolicySearch.choose(levels, model: model, bound: .share(0), folds: 5, seed: 1)
        }
    }

    @Test func policyDecisionsAndFormat() throws {
        let policy = StreamPolicy(bands: [.init(from: 2, threshold: 0.9), .init(from: 5, threshold: 0.6)])
        #expect(!policy.flags(0.99, events: 1) && policy.flags(0.9, events: 2) && !policy.flags(0.7, events: 4) && policy.flags(0.6, events: 5))
        #expect(StreamPolicy(json: policy.json) == policy)
        for bad in [
            #"{"bands": []}"#, #"{"bands": [{"from_events": 0, "threshold": 0.5}]}"#,
            #"{"bands": [{"from_events": 3, "threshold": 0.5}, {"from_events": 3, "threshold": 0.4}]}"#,
            #"{"bands": [{"from_events": 1, "threshold": 1.5}]}"#, #"{"bands": [{"from_events": 1.5, "threshold": 0.5}]}"#,
            #"{"bands": [{"from_events": 1, "threshold": 0.5}], "chosen_on": 3}"#, #"[]"#,
        ] {
            #expect(StreamPolicy(json: try parseJSON(Array(bad.utf8), name: "x", what: "policy")) == nil, "\(bad)")
        }
    }
}
