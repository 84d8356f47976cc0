import Foundation
import Testing
@testable import FakeUserKit

/// The model's `feature_summary` (issue 19): class means and the strongly correlated
/// pairs, against a direct computation.
@Suite struct FeatureSummaryTests {
    /// Four features: b follows a (r near 1), c is a's mirror (r near -1), d is noise, e constant.
    static func table(rows: Int) -> (FeatureTable, [UInt8]) {
        var random = SplitMix64(seed: 7)
        var values: [Double] = [], labels: [UInt8] = []
        for i in 0..<rows {
            let a = Double(random.next() % 1000) / 10
            let noise = Double(random.next() % 100) / 100
            values += [a, 2 * a + noise, -a + noise, Double(random.next() % 1000), 3]
            labels.append(i % 4 == 0 ? 1 : 0)
        }
        return (FeatureTable(ids: (0..<rows).map { "U\($0)" }, labels: labels, names: ["a", "b", "c", "d", "e"], values: values), labels)
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
        let sxy = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        let sxx = x.map { ($0 - mx) * ($0 - mx) }.reduce(0, +), syy = y.map { ($0 - my) * ($0 - my) }.reduce(0, +)
        return sxy / (sxx * syy).squareRoot()
    }

    @Test func meansAndPairsEqualADirectComputation() throws {
        let (table, labels) = Self.table(rows: 400)
        let summary = FeatureSummary(table: table, labels: labels)
        func column(_ f: Int) -> [Double] { (0..<table.rowCount).map { table.values[$0 * 5 + f] } }
        for f in 0..<5 {
            let fake = column(f).enumerated().filter { labels[$0.offset] == 1 }.map(\.element)
            let real = column(f).enumerated().filter { labels[$0.offset] == 0 }.map(\.element)
            #expect(abs(summary.meanFake[f] - fake.reduce(0, +) / Double(fake.count)) < 1e-9)
            #expect(abs(summary.meanReal[f] - real.reduce(0, +) / Double(real.count)) < 1e-9)
        }
        // Every pair above 0.8 and no other, strongest first; the constant feature in none.
        var expected: [(Int, Int, Double)] = []
        for a in 0..<4 { for b in (a + 1)..<4 where abs(Self.pearson(column(a), column(b))) > 0.8 { expected.append((a, b, Self.pearson(column(a), column(b)))) } }
        #expect(summary.correlated.map { "\($0.first)-\($0.second)" }.sorted() == expected.map { "\($0.0)-\($0.1)" }.sorted())
        #expect(Set(summary.correlated.map { "\($0.first)-\($0.second)" }) == ["0-1", "0-2", "1-2"])
        for pair in summary.correlated {
            #expect(abs(pair.r - Self.pearson(column(pair.first), column(pair.second))) < 1e-9)
        }
        #expect(zip(summary.correlated, summary.correlated.dropFirst()).allSatisfy { abs($0.r) >= abs($1.r) })
    }

    /// Written by fu-fit, read back the same; a damaged summary is an invalid model.
    @Test func itRoundTripsAndIsChecked() throws {
        let (table, labels) = Self.table(rows: 200)
        var model = try fitModel(table, labels: labels, trainer: Trainer(), threshold: .fixed(0.5)).model
        #expect(model.featureSummary != nil)
        let text = model.json.rendered()
        #expect(try Model.parse(Array(text.utf8), name: "m") == model)
        model.featureSummary?.correlated.append(.init(first: 0, second: 0, r: 0.9))
        #expect(throws: ToolError.self) { try Model.parse(Array(model.json.rendered().utf8), name: "m") }
        let broken = text.replacingOccurrences(of: "\"mean_fake\"", with: "\"mean_fakes\"")
        #expect(throws: ToolError.self) { try Model.parse(Array(broken.utf8), name: "m") }
    }
}
