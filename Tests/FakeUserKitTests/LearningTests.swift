import Foundation
import Testing
@testable import FakeUserKit

/// `../shared/reference/`: scikit-learn's fits of features.csv (copied into Fixtures).
struct Reference {
    let table: FeatureTable
    let labels: [UInt8]
    let sklearn: JSONValue

    static let shared: Reference = {
        let features = Bundle.module.url(forResource: "features", withExtension: "csv", subdirectory: "Fixtures")!.path
        let sklearnPath = Bundle.module.url(forResource: "sklearn", withExtension: "json", subdirectory: "Fixtures")!.path
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
