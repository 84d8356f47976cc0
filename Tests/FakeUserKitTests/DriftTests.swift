import Foundation
import Testing
@testable import FakeUserKit

/// Tests/Fixtures/drift_fixture.json, written by drift_fixture.py with NumPy.
let driftFixture: JSONValue = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/drift_fixture.json").path
    return try! readJSON(path, what: "fixture")
}()

func fixtureNumbers(_ value: JSONValue?) -> [Double] { value!.arrayValue!.map { $0.doubleValue! } }

/// The fixture's table as a model over its features (coefficients do not matter here) and
/// the new users' table.
func driftFixtureModelAndTable() -> (Model, FeatureTable) {
    let features = driftFixture["table"]!["features"]!.arrayValue!
    let names = features.map { $0["name"]!.stringValue! }
    let train = features.map { fixtureNumbers($0["train"]) }, new = features.map { fixtureNumbers($0["new"]) }
    func rowMajor(_ columns: [[Double]]) -> FeatureTable {
        let rows = columns[0].count
        return FeatureTable(
            ids: (0..<rows).map { "u\($0)" }, labels: nil, names: names,
            values: (0..<rows).flatMap { row in columns.map { $0[row] } })
    }
    let training = rowMajor(train)
    let model = Model(
        features: names, scaler: StandardScaler(mean: names.map { _ in 0 }, scale: names.map { _ in 1 }),
        coefficients: names.map { _ in 0 }, intercept: 0, threshold: 0.5,
        training: TrainingFacts(rows: training.rowCount, positives: 1, cost: 1, weighting: .balanced, classWeights: (1, 1), iterations: 1,
                                converged: true, gradientNorm: 0, thresholdSource: "default", seed: nil, folds: nil),
        trainingDistribution: TrainingDistribution(table: training))
    return (model, rowMajor(new))
}

@Suite struct DriftMatchesNumPy {
    static let cases = (driftFixture["table"]!["features"]!.arrayValue! + driftFixture["small"]!.arrayValue!)
        .map { $0["name"]!.stringValue! }

    /// Relative, as PSIs run from 0 to 10: NumPy's log and ours may differ in the last bit.
    func expectClose(_ ours: Double?, _ theirs: Double?, _ what: String) {
        guard let ours, let theirs else {
            #expect(ours == nil && theirs == nil, "\(what): \(String(describing: ours)) vs \(String(describing: theirs))")
            return
        }
        #expect(abs(ours - theirs) <= 1e-12 * max(1, abs(theirs)), "\(what): \(ours) vs \(theirs)")
    }

    @Test(arguments: cases) func edgesSharesAndPSI(_ name: String) throws {
        let all = driftFixture["table"]!["features"]!.arrayValue! + driftFixture["small"]!.arrayValue!
        let fixture = all.first { $0["name"]?.stringValue == name }!
        let distribution = FeatureDistribution(values: fixtureNumbers(fixture["train"]))
        // The same doubles: quantiles interpolated as NumPy does, shares as counts / n.
        #expect(distribution.edges == fixtureNumbers(fixture["edges"]))
        #expect(distribution.shares == fixtureNumbers(fixture["train_shares"]))
        let new = fixtureNumbers(fixture["new"])
        var counts = [Int](repeating: 0, count: distribution.binCount)
        for value in new { counts[distribution.bin(value)] += 1 }
        let drift = FeatureDrift(feature: name, distribution: distribution, counts: counts)
        #expect(drift.newShares == fixtureNumbers(fixture["new_shares"]))
        expectClose(drift.psi, fixture["psi"]?.doubleValue, "psi")
    }

    @Test func overallIsTheMeanOverMeasuredFeatures() throws {
        let (model, table) = driftFixtureModelAndTable()
        let report = try DriftReport(model: model, table: table)
        expectClose(report.overall, driftFixture["table"]!["overall"]!.doubleValue, "overall")
        #expect(report.measured.count == report.features.count - 1)
        #expect(report.users == table.rowCount)
    }

    @Test func aConstantFeatureIsNamedAndLeftOut() throws {
        let (model, table) = driftFixtureModelAndTable()
        let constant = try DriftReport(model: model, table: table).features.first { $0.feature == "constant" }!
        #expect(constant.psi == nil && constant.level == nil)
        // The fixture's new values of it are uniform on [2, 4] with two decimals.
        let differing = fixtureNumbers(driftFixture["table"]!["features"]!.arrayValue!.last!["new"]).filter { $0 != 3 }.count
        #expect(differing > 500)
        #expect(constant.note == "constant in training (every value 3): its drift cannot be measured; left out of the overall; "
            + "\(differing) of the 613 users (\(fixedDecimals(100 * Double(differing) / 613, 1))%) differ from it")
        let text = try DriftReport(model: model, table: table).text
        #expect(text.contains("\nconstant                   -  constant in training (every value 3)"))
    }

    @Test func bandsAndTheTable() throws {
        let (model, table) = driftFixtureModelAndTable()
        let report = try DriftReport(model: model, table: table)
        let levels = Dictionary(uniqueKeysWithValues: report.features.map { ($0.feature, $0.level?.rawValue ?? "none") })
        #expect(levels == ["spread": "moderate", "counts": "moderate", "sparse": "stable", "shifted": "significant", "constant": "none"])
        let lines = report.text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "feature                  PSI")
        #expect(lines.contains("shifted               5.7176  significant shift"))
        #expect(lines.contains("sparse                0.0000  every training decile is 0: only values crossing it show"))
        #expect(lines.contains("overall (mean of 4)   1.5063  significant shift"))
        #expect(lines.last == "613 users against 997 in training; PSI below 0.1 stable, from 0.1 moderate, from 0.25 significant shift")
        #expect(report.above(0.2).map(\.feature) == ["shifted"])
        #expect(report.above(10).isEmpty)
    }

    @Test func noUsersIsAnError() throws {
        let (model, table) = driftFixtureModelAndTable()
        let empty = FeatureTable(ids: [], labels: nil, names: table.names, values: [])
        #expect(throws: ToolError.data("no users to compare with the training data")) { try DriftReport(model: model, table: empty) }
    }
}

@Suite struct TrainingDistributionInTheModel {
    @Test func roundTripsThroughTheModelFile() throws {
        let (model, _) = driftFixtureModelAndTable()
        let parsed = try Model.parse(Array(model.json.rendered().utf8), name: "m")
        #expect(parsed.trainingDistribution == model.trainingDistribution)
        // It changes no score: the version stays the one without it.
        #expect(model.json["version"] == .integer(1))
    }

    @Test func aModelWithoutItLoadsAndSaysSoWhenDriftIsAsked() throws {
        var (model, table) = driftFixtureModelAndTable()
        model.trainingDistribution = nil
        let parsed = try Model.parse(Array(model.json.rendered().utf8), name: "m")
        #expect(parsed.trainingDistribution == nil)
        #expect(throws: ToolError.data("the model has no training distribution (fitted before fu kept one): refit it with fu-fit to measure drift")) {
            try DriftReport(model: parsed, table: table)
        }
    }

    /// Each broken distribution is refused with what is wrong.
    @Test(arguments: [
        ("\"edges\": [1, 1]", "'spread': 'edges' must be 1 to 9 increasing numbers"),
        ("\"edges\": []", "'spread': 'edges' must be 1 to 9 increasing numbers"),
        ("\"shares\": [0.5, 0.4]", "'spread': 'shares' must be 10 numbers from 0 to 1 adding up to 1 (one more than 'edges')"),
        ("\"edges\": [1e999]", "'spread': 'edges' has a value that is not a finite number"),
        ("\"min\": 100", "'spread': 'min' and 'max' must be finite numbers, min at most max"),
    ]) func brokenDistributionsAreRefused(_ replacement: String, _ message: String) throws {
        let (model, _) = driftFixtureModelAndTable()
        guard case .object(var pairs) = model.json, case .object(var features)? = pairs.last?.1,
              case .object(var spread) = features[0].1 else { Issue.record("layout"); return }
        let key = String(replacement.split(separator: ":")[0].dropFirst().dropLast())
        let value = try JSONValue.parse(Array(replacement.split(separator: ":", maxSplits: 1)[1].utf8))
        spread = spread.map { $0.0 == key ? ($0.0, value) : $0 }
        features[0].1 = .object(spread)
        pairs[pairs.count - 1].1 = .object(features)
        #expect(throws: ToolError.data("invalid model: 'training_distribution' \(message)", at: InputLocation(file: "m"))) {
            try Model.parse(Array(JSONValue.object(pairs).rendered().utf8), name: "m")
        }
    }

    @Test func itMustNameTheModelsFeatures() throws {
        let (model, _) = driftFixtureModelAndTable()
        guard case .object(var pairs) = model.json, case .object(let features)? = pairs.last?.1 else { Issue.record("layout"); return }
        pairs[pairs.count - 1].1 = .object(Array(features.reversed()))
        #expect(throws: ToolError.data("invalid model: 'training_distribution' must name the model's features, in their order", at: InputLocation(file: "m"))) {
            try Model.parse(Array(JSONValue.object(pairs).rendered().utf8), name: "m")
        }
    }
}

@Suite struct DriftWindowKeepsTheLastUsers {
    /// The same users and bins. Not the notes: a table's report also counts the values that
    /// differ from a training constant, which the window's bins cannot.
    func sameBins(_ window: DriftReport?, _ table: DriftReport) -> Bool {
        guard let window else { return false }
        return window.users == table.users && window.trainingUsers == table.trainingUsers
            && window.features.map(\.feature) == table.features.map(\.feature)
            && window.features.map(\.psi) == table.features.map(\.psi) && window.features.map(\.newShares) == table.features.map(\.newShares)
    }

    func rows(_ table: FeatureTable, _ range: Range<Int>) -> FeatureTable {
        let width = table.featureCount
        return FeatureTable(
            ids: Array(table.ids[range]), labels: nil, names: table.names,
            values: Array(table.values[(range.lowerBound * width)..<(range.upperBound * width)]))
    }

    @Test func inBatchesItEqualsTheReportOfItsLastUsers() throws {
        let (model, table) = driftFixtureModelAndTable()
        let window = DriftWindow(capacity: 250)
        #expect(window.report() == nil)
        var start = 0
        for size in [1, 7, 100, 300, 13, 90] {
            window.add(rows(table, start..<(start + size)), model: model)
            start += size
            let kept = max(0, start - 250)..<start
            let expected = try DriftReport(model: model, table: rows(table, kept))
            #expect(sameBins(window.report(), expected), "after \(start) users")
        }
    }

    @Test func anotherModelStartsAfresh() throws {
        let (model, table) = driftFixtureModelAndTable()
        let window = DriftWindow(capacity: 50)
        window.add(rows(table, 0..<40), model: model)
        var other = model
        other.trainingDistribution!.features[0] = FeatureDistribution(values: [0, 1, 2, 3])
        window.add(rows(table, 40..<45), model: other)
        #expect(sameBins(window.report(), try DriftReport(model: other, table: rows(table, 40..<45))))
    }

    @Test func aModelWithoutDecilesEmptiesIt() throws {
        var (model, table) = driftFixtureModelAndTable()
        let window = DriftWindow(capacity: 50)
        window.add(rows(table, 0..<10), model: model)
        #expect(window.report() != nil)
        model.trainingDistribution = nil
        window.add(rows(table, 10..<20), model: model)
        #expect(window.report() == nil)
    }
}

/// The training distribution's radix sort gives `sorted()`'s array, bit for bit.
@Suite struct RadixSortEqualsSorted {
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func sameArray(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let special: [Double] = [0, 1, -1, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e-300, -1e300]
        let values: [Double] = (0..<(Int(random.next() % 5000))).map { i in
            switch random.next() % 4 {
            case 0: return Double(random.next() % 20)  // counts: few distinct values, many ties
            case 1: return Double(bitPattern: random.next() & ~(0x7FF << 52) | (UInt64(1 + random.next() % 2045) << 52))  // any finite
            case 2: return special[i % special.count]
            default: return Double(Int64(bitPattern: random.next()) % 1000) / 7
            }
        }
        #expect(radixSorted(values).map(\.bitPattern) == values.sorted().map(\.bitPattern))
    }

    /// With both zeros the sort is `sorted()`'s (its equal zeros keep their input order).
    @Test func bothZerosKeepTheSortOrder() {
        let values: [Double] = [1, -0.0, 0.0, -0.0, 2, 0.0]
        let distribution = FeatureDistribution(values: values)
        #expect(distribution.minimum.bitPattern == values.sorted().first!.bitPattern)
    }
}

/// The training shares counted from the sorted values equal a count of each value's bin.
extension FeatureDistribution {
    /// The oracle: each value put in its bin one by one.
    func binShares(of values: [Double]) -> [Double] {
        var counts = [Int](repeating: 0, count: binCount)
        for value in values { counts[bin(value)] += 1 }
        return shares(counts: counts)
    }
}

@Suite struct BinCountsFromTheSortedValues {
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func equalBinByBin(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let values: [Double] = (0..<(1 + Int(random.next() % 3000))).map { _ in
            random.next() % 3 == 0 ? Double(random.next() % 6) : Double(Int64(bitPattern: random.next()) % 10_000) / 13
        }
        let distribution = FeatureDistribution(values: values)
        #expect(distribution.shares == distribution.binShares(of: values))
        // Edges on values, between them and beyond them.
        let sorted = values.sorted()
        for edges in [[sorted[sorted.count / 2]], Array(Set([-1e9, sorted[0], 0, 2.5, 3, 1e9])).sorted(), distribution.edges] {
            let fixed = FeatureDistribution(edges: edges, shares: [], minimum: 0, maximum: 0)
            var counts = [Int](repeating: 0, count: edges.count + 1)
            for value in values { counts[fixed.bin(value)] += 1 }
            #expect(FeatureDistribution.binCounts(sorted: sorted, edges: edges) == counts, "\(edges)")
        }
    }
}

