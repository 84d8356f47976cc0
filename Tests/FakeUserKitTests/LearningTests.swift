import Foundation
import Testing
@testable import FakeUserKit

/// `../shared/reference/`: scikit-learn's fits of features.csv (copied into Tests/Fixtures).
struct Reference {
    let table: FeatureTable
    let labels: [UInt8]
    let sklearn: JSONValue

    static let shared: Reference = {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
        let features = fixtures.appendingPathComponent("features.csv").path
        let sklearnPath = fixtures.appendingPathComponent("sklearn.json").path
        let sklearn = try! readJSON(sklearnPath, what: "reference")
        let names = sklearn["features"]!.arrayValue!.map { $0.stringValue! }
        let table = try! FeatureTable.read(TableReader(ByteInput(path: features)), features: names)
        return Reference(table: table, labels: table.labels!, sklearn: sklearn)
    }()

    func fit(_ index: Int) -> JSONValue { sklearn["fits"]!.arrayValue![index] }

    func numbers(_ value: JSONValue?) -> [Double] { value!.arrayValue!.map { $0.doubleValue! } }
}

func expectClose(_ a: [Double], _ b: [Double], tolerance: Double, relative: Bool = false, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    for (x, y) in zip(a, b) {
        let allowed = relative ? tolerance * max(abs(y), 1e-300) : tolerance
        #expect(abs(x - y) <= allowed, "\(x) vs \(y)", sourceLocation: sourceLocation)
    }
}

@Suite struct MatchesScikitLearn {
    let reference = Reference.shared

    @Test func referenceShape() {
        #expect(reference.table.rowCount == reference.sklearn["rows"]!.intValue!)
        #expect(reference.labels.reduce(0) { $0 + Int($1) } == reference.sklearn["positives"]!.intValue!)
    }

    @Test func scalerToOneInATrillion() {
        let scaler = StandardScaler.fit(reference.table, rows: Array(0..<reference.table.rowCount))
        expectClose(scaler.mean, reference.numbers(reference.fit(0)["scaler_mean"]), tolerance: 1e-12, relative: true)
        expectClose(scaler.scale, reference.numbers(reference.fit(0)["scaler_scale"]), tolerance: 1e-12, relative: true)
    }

    @Test(arguments: [0, 1, 2]) func fitEqualsScikitLearn(_ index: Int) throws {
        let fit = reference.fit(index)
        let cost = fit["params"]!["C"]!.doubleValue!
        let weighting: ClassWeighting = fit["params"]!["class_weight"]?.stringValue == "balanced" ? .balanced : .none
        let rows = Array(0..<reference.table.rowCount)
        let model = try Trainer(cost: cost, weighting: weighting).train(reference.table, labels: reference.labels, rows: rows)
        #expect(model.training.converged)
        #expect(model.training.gradientNorm < 1e-8)
        expectClose(model.coefficients, reference.numbers(fit["coefficients"]), tolerance: 1e-6)
        #expect(abs(model.intercept - fit["intercept"]!.doubleValue!) < 1e-6)
        let probabilities = model.probabilities(reference.table)
        expectClose(Array(probabilities.prefix(10)), reference.numbers(fit["probability_first_10"]), tolerance: 1e-6, relative: true)

        let metrics = Metrics(labels: reference.labels, probabilities: probabilities, threshold: 0.5)
        let report = fit["train_classification_report"]!
        for (key, scores) in [("0", metrics.negative), ("1", metrics.positive), ("macro avg", metrics.macro), ("weighted avg", metrics.weighted)] {
            #expect(abs(scores.precision - report[key]!["precision"]!.doubleValue!) < 1e-9)
            #expect(abs(scores.recall - report[key]!["recall"]!.doubleValue!) < 1e-9)
            #expect(abs(scores.f1 - report[key]!["f1-score"]!.doubleValue!) < 1e-9)
            #expect(Double(scores.support) == report[key]!["support"]!.doubleValue!)
        }
        #expect(abs(metrics.accuracy - report["accuracy"]!.doubleValue!) < 1e-9)
        #expect(abs(metrics.rocAUC! - fit["train_roc_auc"]!.doubleValue!) < 1e-9)
        #expect(abs(metrics.averagePrecision! - fit["train_average_precision"]!.doubleValue!) < 1e-9)
        #expect(metrics.confusion == fit["train_confusion_matrix"]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } })
    }
}

@Suite struct MetricDefinitions {
    @Test func scikitLearnDocumentationExamples() {
        // roc_auc_score and average_precision_score docstring examples.
        let labels: [UInt8] = [0, 0, 1, 1]
        let scores = [0.1, 0.4, 0.35, 0.8]
        #expect(rocAreaUnderCurve(labels: labels, scores: scores) == 0.75)
        #expect(abs(averagePrecisionScore(labels: labels, scores: scores)! - 0.8333333333333333) < 1e-15)
    }

    @Test func tiesCountHalf() {
        #expect(rocAreaUnderCurve(labels: [0, 1], scores: [0.5, 0.5]) == 0.5)
        #expect(averagePrecisionScore(labels: [0, 1], scores: [0.5, 0.5]) == 0.5)
        #expect(rocAreaUnderCurve(labels: [0, 0, 1, 1], scores: [0.2, 0.6, 0.6, 0.9]) == 0.875)
    }

    @Test func undefinedValues() {
        #expect(rocAreaUnderCurve(labels: [1, 1], scores: [0.2, 0.3]) == nil)
        #expect(averagePrecisionScore(labels: [0, 0], scores: [0.2, 0.3]) == nil)
        let metrics = Metrics(labels: [0, 1, 1], probabilities: [0.1, 0.2, 0.3], threshold: 0.5)
        #expect(metrics.positive.precision == 0)  // nothing predicted positive: 0, as scikit-learn
        #expect(metrics.positive.recall == 0 && metrics.positive.f1 == 0)
        #expect(metrics.negative.precision == 1.0 / 3.0)
        #expect(metrics.confusion == [[1, 0], [2, 0]])
        if case .null = metrics.json["roc_auc"]! { Issue.record("AUC is defined here") }
        #expect(Metrics(labels: [1, 1], probabilities: [0.1, 0.9], threshold: 0.5).json["roc_auc"] == .null)
    }

    @Test func thresholdIsInclusive() {
        let metrics = Metrics(labels: [0, 1], probabilities: [0.3, 0.5], threshold: 0.5)
        #expect(metrics.confusion == [[1, 0], [0, 1]])
    }

    @Test func bestF1ThresholdPicksTheScoreThatSeparates() {
        let best = bestF1Threshold(labels: [0, 0, 1, 0, 1], scores: [0.1, 0.2, 0.7, 0.4, 0.9])
        #expect(best.threshold == 0.7)
        #expect(best.f1 == 1)
    }
}

@Suite struct Solver {
    func table(_ rows: [[Double]], labels: [UInt8]) -> FeatureTable {
        FeatureTable(ids: rows.indices.map { "U\($0)" }, labels: labels, names: (0..<rows[0].count).map { "f\($0)" }, values: rows.flatMap { $0 })
    }

    @Test func perfectlySeparableDataStaysFinite() throws {
        let data = table([[0], [1], [2], [3], [10], [11], [12], [13]], labels: [0, 0, 0, 0, 1, 1, 1, 1])
        let model = try Trainer().train(data, labels: data.labels!, rows: Array(0..<8))
        #expect(model.training.converged)
        #expect(model.coefficients[0].isFinite && model.coefficients[0] > 0)
        #expect(model.probabilities(data).enumerated().allSatisfy { ($0.element >= 0.5) == ($0.offset >= 4) })
    }

    @Test func constantColumnGetsScaleOne() throws {
        let data = table([[5, 0], [5, 1], [5, 0], [5, 3], [5, 4], [5, 5]], labels: [0, 0, 0, 1, 1, 1])
        let model = try Trainer().train(data, labels: data.labels!, rows: Array(0..<6))
        #expect(model.scaler.scale[0] == 1)
        #expect(model.scaler.mean[0] == 5)
        #expect(model.coefficients[0] == 0)
        #expect(model.training.converged)
    }

    @Test func oneClassOrNoRowsIsAnError() {
        let data = table([[1], [2]], labels: [1, 1])
        #expect(throws: ToolError.data("only one class in the training rows (2 with Fake=1 of 2): need both")) {
            try Trainer().train(data, labels: data.labels!, rows: [0, 1])
        }
        #expect(throws: ToolError.data("no rows to fit")) {
            try Trainer().train(data, labels: data.labels!, rows: [])
        }
    }

    @Test func scalerUsesOnlyTheGivenRows() {
        let data = table([[0], [2], [100]], labels: [0, 1, 0])
        let scaler = StandardScaler.fit(data, rows: [0, 1])
        #expect(scaler.mean == [1])
        #expect(scaler.scale == [1])
    }
}

@Suite struct FoldsAndSplits {
    let labels: [UInt8] = (0..<103).map { $0 % 10 == 0 ? 1 : 0 }

    @Test func stratifiedFoldsBalanceEachClass() throws {
        let folds = try stratifiedFolds(labels: labels, folds: 5, seed: 42)
        for fold in 0..<5 {
            let rows = labels.indices.filter { folds[$0] == fold }
            let positives = rows.filter { labels[$0] == 1 }.count
            #expect((2...3).contains(positives))
            #expect((20...21).contains(rows.count))
        }
        #expect(try stratifiedFolds(labels: labels, folds: 5, seed: 42) == folds)
        #expect(try stratifiedFolds(labels: labels, folds: 5, seed: 43) != folds)
    }

    @Test func tooFewOfAClass() {
        #expect(throws: ToolError.data("only 2 rows with Fake=1, fewer than the 3 folds")) {
            try stratifiedFolds(labels: [0, 0, 0, 1, 1], folds: 3, seed: 1)
        }
    }

    @Test func stratifiedSplitKeepsTheShare() {
        let isTest = stratifiedTestRows(labels: labels, testCount: 21, seed: 42)
        #expect(isTest.filter { $0 }.count == 21)
        #expect(labels.indices.filter { isTest[$0] && labels[$0] == 1 }.count == 2)
    }

    @Test func crossValidationIsDeterministicAndMatchesSerialFolds() throws {
        let reference = Reference.shared
        let first = try CrossValidation(table: reference.table, labels: reference.labels, folds: 4, seed: 9, trainer: Trainer())
        let second = try CrossValidation(table: reference.table, labels: reference.labels, folds: 4, seed: 9, trainer: Trainer())
        #expect(first.probabilities == second.probabilities)
        // Fold 2 by hand, serially.
        let trainRows = first.foldOfRow.indices.filter { first.foldOfRow[$0] != 2 }
        let testRows = first.foldOfRow.indices.filter { first.foldOfRow[$0] == 2 }
        let model = try Trainer().train(reference.table, labels: reference.labels, rows: trainRows)
        #expect(model.probabilities(reference.table, rows: testRows) == testRows.map { first.probabilities[$0] })
    }
}

@Suite struct ModelFile {
    func model() throws -> Model {
        let reference = Reference.shared
        return try Trainer().train(reference.table, labels: reference.labels, rows: Array(0..<reference.table.rowCount))
    }

    @Test func roundTrip() throws {
        let original = try model()
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("model.json").path
        try writeJSON(original.json, to: path)
        #expect(try Model.load(path) == original)
    }

    /// A calibrated model is format version 2, which a reader of version 1 refuses;
    /// without a calibration it stays version 1. Both read back the same.
    @Test func aCalibratedModelIsVersion2() throws {
        let plain = try model()
        var calibrated = plain
        calibrated.calibration = Calibration(a: -1.5, b: 0.25)
        #expect(calibrated.json["version"]?.intValue == 2 && plain.json["version"]?.intValue == 1)
        let bytes = Array(calibrated.json.rendered().utf8)
        #expect(try Model.parse(bytes, name: "m.json") == calibrated)
    }

    /// A model with a stream policy is format version 3 (a version-2 reader would ignore
    /// the policy), calibrated or not, and reads back the same.
    @Test func aModelWithAStreamPolicyIsVersion3() throws {
        var model = try model()
        model.streamPolicy = StreamPolicy(bands: [.init(from: 3, threshold: 0.8), .init(from: 10, threshold: 0.5)], chosenOn: .object([("seed", .integer(4))]))
        #expect(model.json["version"]?.intValue == 3)
        #expect(try Model.parse(Array(model.json.rendered().utf8), name: "m.json") == model)
        model.calibration = Calibration(a: -1.5, b: 0.25)
        #expect(model.json["version"]?.intValue == 3)
        #expect(try Model.parse(Array(model.json.rendered().utf8), name: "m.json") == model)
    }

    /// Decision bands change what the scorers write, so a model with them is version 4.
    @Test func aModelWithDecisionBandsIsVersion4() throws {
        var model = try model()
        model.decisionBands = DecisionBands(review: 0.7, block: nil, chosenOn: .object([("folds", .integer(5))]))
        #expect(model.json["version"]?.intValue == 4)
        #expect(try Model.parse(Array(model.json.rendered().utf8), name: "m.json") == model)
        model.training.thresholdRule = "capacity:0.05"
        #expect(try Model.parse(Array(model.json.rendered().utf8), name: "m.json") == model)
    }

    @Test func invalidFiles() throws {
        let folder = try temporaryFolder()
        let good = try model().json.rendered()
        let cases: [(String, String)] = [
            ("not json at all", "invalid model... "),
            (good.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 5"), "invalid model: format version 5 is not supported (this fu reads versions 1 to 4)"),
            (good.replacingOccurrences(of: "\"fu-model\"", with: "\"other\""), "invalid model: not an fu model (format tag is not 'fu-model')"),
            (good.replacingOccurrences(of: "\"intercept\": ", with: "\"intercept\": null, \"x\": "), "invalid model: 'intercept' is missing or not a finite number"),
            (good.replacingOccurrences(of: "\"intercept\": ", with: "\"stream_policy\": {\"bands\": [{\"from_events\": 0, \"threshold\": 0.5}]}, \"intercept\": "),
             "invalid model: \(StreamPolicy.shape)"),
            (good.replacingOccurrences(of: "\"intercept\": ", with: "\"decision_bands\": {\"review\": 0.9, \"block\": 0.5}, \"intercept\": "),
             "invalid model: \(DecisionBands.shape)"),
            (good.replacingOccurrences(of: "\"intercept\": ", with: "\"decision_bands\": {\"review\": 1.5}, \"intercept\": "),
             "invalid model: \(DecisionBands.shape)"),
        ]
        for (text, message) in cases {
            let path = folder.appendingPathComponent("m.json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try Model.load(path)
                Issue.record("loaded \(message)")
            } catch let error as ToolError {
                #expect(error.status == .dataError)
                if message.hasSuffix("... ") {
                    #expect(error.message.hasPrefix("model is not valid JSON"))
                } else {
                    #expect(error.message == message)
                }
            }
        }
        var short = try model()
        short.coefficients.removeLast()
        let path = folder.appendingPathComponent("short.json").path
        try writeJSON(short.json, to: path)
        #expect(throws: ToolError.data("invalid model: 10 features but 10 means, 10 scales and 9 coefficients", at: InputLocation(file: path))) {
            _ = try Model.load(path)
        }
    }
}

@Suite struct DecimalParsing {
    func parse(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { parseDouble($0) }
    }

    @Test func agreesWithStrtod() {
        var random = SplitMix64(seed: 99)
        for _ in 0..<20_000 {
            let value = Double(bitPattern: random.next() >> 2) // finite, wide range of exponents
            let candidates = ["\(value)", formatted(value, "%.17g"), formatted(Double(random.below(1_000_000)) / Double(1 + random.below(997)), "%.17g"),
                              formatted(random.unit() * 100, "%.6f"), formatted(random.unit(), "%.19f")]
            for text in candidates {
                #expect(parse(text) == strtod(text, nil), "\(text)")
            }
        }
    }

    @Test func grammar() {
        #expect(parse("-0.5e1") == -5)
        #expect(parse("+3") == 3)
        #expect(parse(".5") == 0.5)
        #expect(parse("7.") == 7)
        #expect(parse("1e400") == .infinity)
        #expect(parse("nan")!.isNaN)
        #expect(parse("") == nil)
        #expect(parse("1.5x") == nil)
        #expect(parse("e5") == nil)
        #expect(parse(" 1") == nil)
        #expect(parse("0.000000000000000000000000123456789") == 1.23456789e-25)
    }

    func formatted(_ value: Double, _ format: String) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            _ = withVaList([value]) { vsnprintf(buffer.baseAddress!, 64, format, $0) }
            return String(cString: buffer.baseAddress!)
        }
    }
}
