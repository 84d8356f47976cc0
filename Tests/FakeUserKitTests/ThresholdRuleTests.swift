import Testing
@testable import FakeUserKit

/// The capacity and cost rules against a direct count at every candidate threshold: no
/// sorting, no curve walk, the definitions as docs/reference.md states them.
@Suite struct ThresholdRulesMatchADirectCount {
    /// Scores with many ties (two decimals) and labels, from a seeded generator.
    static func sample(_ seed: UInt64, count: Int = 500) -> (labels: [UInt8], scores: [Double]) {
        var random = SplitMix64(seed: seed)
        var labels: [UInt8] = [], scores: [Double] = []
        for _ in 0..<count {
            let fake = random.next() % 5 == 0
            let base = Double(random.next() % 1000) / 1000
            labels.append(fake ? 1 : 0)
            scores.append(((fake ? (base + 1) / 2 : base / 1.5) * 100).rounded() / 100)
        }
        return (labels, scores)
    }

    func flagged(_ scores: [Double], at threshold: Double) -> Int { scores.filter { $0 >= threshold }.count }

    @Test(arguments: [(UInt64(1), 0.05), (2, 0.2), (3, 0.5), (4, 1.0), (5, 0.013)])
    func capacity(_ seed: UInt64, _ share: Double) throws {
        let (_, scores) = Self.sample(seed)
        let limit = Double(scores.count) * share
        let allowed = Set(scores).filter { Double(flagged(scores, at: $0)) <= limit }
        let chosen = try capacityThreshold(scores: scores, share: share)
        #expect(chosen.threshold == allowed.min())
        #expect(chosen.flagged == flagged(scores, at: chosen.threshold))
    }

    @Test func aCapacityBelowTheTopTieIsAnError() throws {
        let scores = [0.9, 0.9, 0.9, 0.5, 0.2] + [Double](repeating: 0.1, count: 45)
        #expect(throws: ToolError.data("--threshold capacity:0.05 flags no user: 3 users share the highest out-of-fold score, more than 0.05 of 50 (2)")) {
            try capacityThreshold(scores: scores, share: 0.05)
        }
        let six = try capacityThreshold(scores: scores, share: 0.06)
        #expect(six.threshold == 0.9 && six.flagged == 3)
    }

    @Test(arguments: [(UInt64(1), 1.0, 1.0), (2, 1.0, 10.0), (3, 5.0, 1.0), (4, 1.0, 1000.0), (5, 1000.0, 1.0)])
    func cost(_ seed: UInt64, _ falsePositive: Double, _ falseNegative: Double) {
        let (labels, scores) = Self.sample(seed)
        func cost(_ t: Double) -> Double {
            var total = 0.0
            for (label, score) in zip(labels, scores) {
                if score >= t && label == 0 { total += falsePositive }
                if score < t && label == 1 { total += falseNegative }
            }
            return total
        }
        let candidates = Set(scores).union(scores.allSatisfy { $0 < 1 } ? [1] : [])
        let least = candidates.map(cost).min()!
        let expected = candidates.filter { cost($0) == least }.max()!
        let chosen = leastCostThreshold(labels: labels, scores: scores, falsePositive: falsePositive, falseNegative: falseNegative)
        #expect(chosen.threshold == expected)
        #expect(chosen.cost == least)
    }

    /// Block from the score whose users at or above it reach the precision and hold the most
    /// fakes (the highest such score on a tie); review from the lowest score below that
    /// keeping the reviewed within the capacity.
    @Test(arguments: [(UInt64(1), 0.05, 0.9), (2, 0.2, 0.7), (3, 0.01, 1.0), (4, 1.0, 0.5), (5, 0.1, 0.99), (6, 0.001, 0.95)])
    func bands(_ seed: UInt64, _ capacity: Double, _ precision: Double) throws {
        let (labels, scores) = Self.sample(seed)
        let precise = Set(scores).filter { t in
            let at = zip(labels, scores).filter { $0.1 >= t }
            return Double(at.filter { $0.0 == 1 }.count) / Double(at.count) >= precision
        }
        func fakes(from t: Double) -> Int { zip(labels, scores).filter { $0.1 >= t && $0.0 == 1 }.count }
        let most = precise.map(fakes(from:)).max()
        let block = precise.filter { fakes(from: $0) == most }.max()
        let blockFrom = block ?? .infinity
        let allowed = Set(scores.filter { $0 < blockFrom }).filter { t in
            Double(scores.filter { $0 >= t && $0 < blockFrom }.count) <= capacity * Double(scores.count)
        }
        let bands = BandRule(capacity: capacity, precision: precision).choose(labels: labels, scores: scores, folds: 5)
        #expect(bands.block == block)
        #expect(bands.review == allowed.min())
        let reviewed = scores.filter { bands.decision($0) == .review }.count
        #expect(Double(reviewed) <= capacity * Double(scores.count))
        #expect(bands.chosenOn?["reviewed"]?.intValue == reviewed)
        #expect(bands.chosenOn?["blocked"]?.intValue == scores.filter { $0 >= blockFrom }.count)
        for score in scores {
            let expected: Decision = score >= blockFrom ? .block : score >= (allowed.min() ?? .infinity) ? .review : .allow
            #expect(bands.decision(score) == expected)
        }
    }

    @Test func bandParsing() throws {
        #expect(try BandRule(parsing: "precision=0.95,capacity=0.02") == BandRule(capacity: 0.02, precision: 0.95))
        for bad in ["capacity=0.02", "capacity=0,precision=0.9", "capacity=0.1,precision=1.5", "capacity=0.1,precision=0.9,capacity=0.2", "review=0.1,precision=0.9", ""] {
            #expect(throws: ToolError.self) { try BandRule(parsing: bad) }
        }
    }

    @Test func parsing() throws {
        #expect(try ThresholdChoice(parsing: "capacity:0.05", folds: 5, seed: 1) == .capacity(share: 0.05, folds: 5, seed: 1))
        #expect(try ThresholdChoice(parsing: "cost:fn=10,fp=1.5", folds: 3, seed: 2) == .cost(falsePositive: 1.5, falseNegative: 10, folds: 3, seed: 2))
        #expect(try ThresholdChoice(parsing: "0.3", folds: 3, seed: 2) == .fixed(0.3))
    }
}
