import Foundation
import Testing
@testable import FakeUserKit

/// Tests/Fixtures/metrics_fixture.json, written by metrics_fixture.py with scikit-learn.
let metricsFixture: JSONValue = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/metrics_fixture.json").path
    return try! readJSON(path, what: "fixture")
}()

@Suite struct MetricsMatchScikitLearn {
    static let cases = metricsFixture["metrics"]!.arrayValue!.map { $0["name"]!.stringValue! }

    func expectEqual(_ ours: JSONValue?, _ theirs: JSONValue?, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        if theirs == .null || theirs == nil {
            #expect(ours == .null, "\(what): \(String(describing: ours)) vs null", sourceLocation: sourceLocation)
            return
        }
        guard let x = ours?.doubleValue, let y = theirs?.doubleValue else {
            Issue.record("\(what): \(String(describing: ours)) vs \(String(describing: theirs))", sourceLocation: sourceLocation)
            return
        }
        #expect(abs(x - y) <= 1e-9, "\(what): \(x) vs \(y)", sourceLocation: sourceLocation)
    }

    @Test(arguments: cases) func newMetricsToOneInABillion(_ name: String) throws {
        let fixture = metricsFixture["metrics"]!.arrayValue!.first { $0["name"]?.stringValue == name }!
        let labels = fixture["labels"]!.arrayValue!.map { UInt8($0.intValue!) }
        let probabilities = fixture["probabilities"]!.arrayValue!.map { $0.doubleValue! }
        let json = Metrics(labels: labels, probabilities: probabilities, threshold: fixture["threshold"]!.doubleValue!).json
        for key in ["log_loss", "brier_score", "balanced_accuracy", "matthews_corrcoef"] {
            expectEqual(json[key], fixture[key], key)
        }
        for object in ["precision_at_k", "recall_at_fpr"] {
            guard case .object(let expected) = fixture[object]!, case .object(let ours)? = json[object] else {
                Issue.record("\(object) is not an object")
                continue
            }
            #expect(ours.map(\.0) == expected.map(\.0), "\(object) keys")
            for (key, value) in expected { expectEqual(json[object]?[key], value, "\(object)[\(key)]") }
        }
    }

    @Test func existingKeysStayAndNewOnesFollow() {
        let json = Metrics(labels: [0, 1, 1, 0], probabilities: [0.1, 0.8, 0.4, 0.6], threshold: 0.5).json
        guard case .object(let pairs) = json else { Issue.record("not an object"); return }
        #expect(pairs.map(\.0) == [
            "0", "1", "accuracy", "macro avg", "weighted avg", "roc_auc", "average_precision", "confusion_matrix", "threshold",
            "log_loss", "brier_score", "balanced_accuracy", "matthews_corrcoef", "precision_at_k", "recall_at_fpr",
        ])
        #expect(json["precision_at_k"]?["4"]?.doubleValue == 0.5)
        #expect(json["precision_at_k"]?["10"] == nil)
    }

    /// Platt's fit against scikit-learn's `_sigmoid_calibration` on the same decision values.
    @Test(arguments: [0, 1]) func plattFitMatchesScikitLearn(_ index: Int) {
        let fixture = metricsFixture["platt"]!.arrayValue![index]
        let decisions = fixture["decisions"]!.arrayValue!.map { $0.doubleValue! }
        let labels = fixture["labels"]!.arrayValue!.map { UInt8($0.intValue!) }
        let fit = Calibration.fitSigmoid(decisions: decisions, labels: labels)
        // The optimum of the same objective to the last digits (Newton in numpy).
        expectClose([fit.a, fit.b], [fixture["exact_a"]!.doubleValue!, fixture["exact_b"]!.doubleValue!], tolerance: 1e-9, relative: true)
        // scikit-learn stops L-BFGS at a gradient of 1e-6, about 1e-9 from the optimum here.
        expectClose([fit.a, fit.b], [fixture["sklearn_a"]!.doubleValue!, fixture["sklearn_b"]!.doubleValue!], tolerance: 1e-6, relative: true)
    }

    /// fu-report recovers a test user's decision value from its calibrated probability.
    @Test func calibrationInvertsItsProbability() throws {
        let calibration = Calibration(a: -1.7, b: 0.3)
        // To 1e-9 while the probability is not within 1e-6 of 1 (where 1 − p has lost digits).
        for f in [-30.0, -4, -0.5, 0, 0.25, 3, 8] {
            let back = try #require(calibration.decision(forProbability: calibration.probability(f)))
            #expect(abs(back - f) <= 1e-9 * max(1, abs(f)), "\(f) came back as \(back)")
        }
        #expect(calibration.decision(forProbability: 1) == .infinity && calibration.decision(forProbability: 0) == -.infinity)
        #expect(Calibration(a: 0, b: 1).decision(forProbability: 0.3) == nil)
    }
}
