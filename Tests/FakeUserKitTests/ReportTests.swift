import Foundation
import Testing
@testable import FakeUserKit

/// fu-report's curves (against scikit-learn 1.9.1), downsampling, formatting, and the page's
/// numbers against its inputs.
struct ReportTests {
    /// Ties (0.1, 0.4, 0.8), a probability on a bin edge (0.1, 0.4), and 1.
    static let users = ScoredUsers(
        ids: (0..<12).map { "U\($0)" }, labels: [0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1],
        probabilities: [0.05, 0.1, 0.1, 0.35, 0.4, 0.4, 0.65, 0.8, 0.8, 0.95, 0.3, 1.0])

    @Test func curvesAreScikitLearns() {
        let curves = EvaluationCurves(ReportTests.users)
        // roc_curve(y, p, drop_intermediate=False)
        #expect(curves.roc.column("fpr") == [0.0, 0.0, 0.16666666666666666, 0.16666666666666666, 0.3333333333333333, 0.5, 0.5,
                                              0.6666666666666666, 0.8333333333333334, 1.0])
        #expect(curves.roc.column("tpr") == [0.0, 0.16666666666666666, 0.16666666666666666, 0.5, 0.5, 0.6666666666666666,
                                              0.8333333333333334, 0.8333333333333334, 1.0, 1.0])
        #expect(curves.roc.column("threshold") == [.infinity, 1.0, 0.95, 0.8, 0.65, 0.4, 0.35, 0.3, 0.1, 0.05])
        // precision_recall_curve(y, p), reversed: the highest threshold first.
        let precision: [Double] = [0.5, 0.5454545454545454, 0.5555555555555556, 0.625, 0.5714285714285714,
                                   0.6, 0.75, 0.5, 1.0, 1.0]
        #expect(curves.precisionRecall.column("precision") == precision.reversed())
        let recall: [Double] = [1.0, 1.0, 0.8333333333333334, 0.8333333333333334, 0.6666666666666666, 0.5,
                                0.5, 0.16666666666666666, 0.16666666666666666, 0.0]
        #expect(curves.precisionRecall.column("recall") == recall.reversed())
        // calibration_curve(y, p, n_bins=10)
        #expect(curves.calibration.column("fraction_positive") == [0.3333333333333333, 0.0, 0.6666666666666666, 0.0, 1.0, 0.5])
        expectClose(curves.calibration.column("mean_predicted"), [0.08333333333333333, 0.3, 0.3833333333333333, 0.65, 0.8, 0.975],
                    tolerance: 1e-15)
        #expect(curves.calibration.column("bin") == [0, 2, 3, 6, 7, 9])
        #expect(curves.calibration.column("count") == [3, 1, 3, 1, 2, 2])
        // By threshold, lowest first: at 0.4 (>= 0.4 is fake) TP 4, FP 3.
        let at = curves.threshold.rows.first { $0[0] == 0.4 }!
        let expected: [Double] = [4.0 / 7, 4.0 / 6, 8.0 / 13, 4, 3, 2, 3]
        #expect(Array(at[1...]) == expected)
        #expect(curves.threshold.column("threshold") == [0.05, 0.1, 0.3, 0.35, 0.4, 0.65, 0.8, 0.95, 1.0])
    }

    @Test func curveFilesHaveHeadersAndEveryRow() throws {
        let output = ByteOutput(inMemory: ())
        try EvaluationCurves(ReportTests.users).roc.write(to: output)
        let text = String(decoding: try output.collected(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "threshold,fpr,tpr,true_positives,false_positives")
        #expect(lines[1] == "inf,0,0,0,0")
        #expect(lines.count == 11)
        #expect(EvaluationCurves(ReportTests.users).files.map(\.name) == ["roc.csv", "pr.csv", "calibration.csv", "threshold.csv"])
    }

    @Test func downsamplingKeepsTheEndsAndAtMostTheLimit() {
        #expect(downsample(Array(0..<10), limit: 500) == Array(0..<10))
        let many = downsample(Array(0..<4001), limit: 500)
        #expect(many.count == 500 && many.first == 0 && many.last == 4000 && Set(many).count == 500)
        #expect(many == many.sorted())
        #expect(downsample(Array(0..<501), limit: 500).count == 500)
    }

    @Test func fixedAndShortestText() {
        #expect(fixed(0.99456, 4) == "0.9946")
        #expect(fixed(1, 4) == "1.0000")
        #expect(fixed(-0.00004, 4) == "0.0000")
        #expect(fixed(-2.25, 1) == "-2.3")
        #expect(fixed(12.5, 0) == "13")
        #expect(shortest(0.1) == "0.1" && shortest(3) == "3" && shortest(1e-7) == "1e-07")
        #expect(significant(3.6504, 3) == "3.65" && significant(0.26312, 3) == "0.263" && significant(148.41, 3) == "148")
        #expect(significant(0.000265, 3) == "2.65e-4" && significant(0.00265, 3) == "0.00265")
        #expect(groupedInteger(1234567) == "1,234,567" && groupedInteger(999) == "999")
        #expect(escapeHTML("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;")
    }

    /// A calibrated model: the reliability plot adds the test users before calibration
    /// (their decision values recovered from the calibrated probabilities), and the Brier
    /// score and log loss before beside the metrics file's after.
    @Test func aCalibratedModelShowsBeforeAndAfter() throws {
        let calibration = Calibration(a: -2, b: 0.5)
        var inputs = ReportTests.inputs()
        inputs.model.calibration = calibration
        let html = EvaluationReport(inputs).html
        #expect(html.contains("test, before calibration") && html.contains("data-series=\"before\""))
        // The regression's own probabilities σ(f), f = (log((1 − p)/p) − b)/a.
        let before = ReportTests.users.probabilities.map { p in sigmoid((log((1 - p) / p) - 0.5) / -2) }
        let brier = zip(before, ReportTests.users.labels).map { ($0 - Double($1)) * ($0 - Double($1)) }.reduce(0, +) / 12
        let shown = try #require(html.firstMatch(of: #/data-computed="brier_score_before_calibration" data-value="([^"]+)"/#))
        #expect(abs(Double(shown.output.1)! - brier) < 1e-12)
        #expect(html.contains("after; log loss <span class=\"num\" data-computed=\"log_loss_before_calibration\""))
        #expect(html.contains("data-src=\"test\" data-key=\"brier_score\""))
        // Uncalibrated: no such series or sentence.
        let plain = EvaluationReport(ReportTests.inputs()).html
        #expect(!plain.contains("before calibration"))
    }

    static func inputs(metrics extra: [(String, JSONValue)] = []) -> ReportInputs {
        let model = Model(
            features: ["total_events", "click_ad_ratio", "a<b"], scaler: StandardScaler(mean: [20, 0.2, 1], scale: [5, 0.1, 2]),
            coefficients: [0.5, 2.25, -1], intercept: -3, threshold: 0.5,
            training: TrainingFacts(rows: 100, positives: 6, cost: 1, weighting: .balanced, classWeights: (0.5, 8), iterations: 4,
                                    converged: true, gradientNorm: 1e-12, thresholdSource: "default", seed: nil, folds: nil))
        let metrics = Metrics(labels: users.labels, probabilities: users.probabilities, threshold: 0.5).json
        guard case .object(let pairs) = metrics else { fatalError() }
        return ReportInputs(model: model, modelJSON: model.json, test: users, testMetrics: .object(pairs + extra), inputDigest: "sha256:abc")
    }

    @Test func everyNumberOnThePageIsFromTheInputs() throws {
        let inputs = ReportTests.inputs()
        let html = EvaluationReport(inputs).html
        let pattern = try NSRegularExpression(pattern: #"data-src="([a-z]+)" data-key="([^"]*)"(?: data-fn="exp")? data-value="([^"]+)""#)
        let matches = pattern.matches(in: html, range: NSRange(html.startIndex..., in: html))
        #expect(matches.count > 40)
        // The oracle is the files as written, read by Foundation: not the report's own lookup.
        let documents = ["test": try plainJSON(inputs.testMetrics), "model": try plainJSON(inputs.modelJSON)]
        for match in matches {
            let part = { (index: Int) in String(html[Range(match.range(at: index), in: html)!]) }
            let raw = try #require(plainNumber(documents[part(1)], at: part(2)), "\(part(1))/\(part(2)) is not in the file")
            let isExp = html[Range(match.range, in: html)!].contains("data-fn")
            let shown = try #require(Double(part(3)))
            // JSONSerialization on Linux may read a double one unit in the last place off.
            let expected = isExp ? exp(raw) : raw
            #expect(abs(shown - expected) <= 2 * expected.ulp, "\(part(1))/\(part(2)): shows \(shown), the file has \(expected)")
        }
        #expect(html.contains("<th>a&lt;b<br><small class=\"meaning\">a&lt;b events the user made</small></th>"))  // names are escaped
        #expect(html.contains("sha256:abc") && html.contains("not recorded"))
        // Sorted by |coefficient|: click_ad_ratio (2.25), a<b (-1), total_events (0.5).
        let order = ["click_ad_ratio", "a&lt;b", "total_events"].map { html.range(of: "<th>\($0)<br>")!.lowerBound }
        #expect(order == order.sorted())
        #expect(!html.contains("data-chart=\"folds\""))  // no cross-validation given
    }

    /// Keys another fu may add (cohen_kappa, lift_at_k…) are shown as they come.
    @Test func newerMetricKeysAreShown() {
        let html = EvaluationReport(ReportTests.inputs(metrics: [
            ("cohen_kappa", .number(0.25)), ("lift_at_k", .object([("k", .integer(10)), ("lift", .number(0.75))])),
            ("note", .string("ignored")),
        ])).html
        #expect(html.contains("data-src=\"test\" data-key=\"cohen_kappa\" data-value=\"0.25\">0.2500</span>"))
        #expect(html.contains("data-key=\"lift_at_k/lift\" data-value=\"0.75\""))
        #expect(!html.contains("ignored"))
    }

    @Test func truthIsJoinedByUser() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fu-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let predictions = folder.appendingPathComponent("p.csv").path, truth = folder.appendingPathComponent("t.csv").path
        try "UserId,Fake,Probability\nB,1,0.9\nA,0,0.25\n".write(toFile: predictions, atomically: true, encoding: .utf8)
        // Events as truth: several rows a user, extra columns.
        try "UserId,Event,Category,Fake\nA,click_ad,Jobs,0\nB,send_sms,Motor,1\nA,send_sms,Jobs,0\n".write(toFile: truth, atomically: true, encoding: .utf8)
        let users = try ScoredUsers.read(predictions: predictions, truth: truth)
        #expect(users == ScoredUsers(ids: ["B", "A"], labels: [1, 0], probabilities: [0.9, 0.25]))
        try "UserId,Fake,Probability\nA,0,1.5\n".write(toFile: predictions, atomically: true, encoding: .utf8)
        #expect(throws: ToolError.data("Probability must be a number from 0 to 1, found '1.5'", at: InputLocation(file: predictions, line: 2))) {
            try ScoredUsers.read(predictions: predictions, truth: truth)
        }
    }
}

/// A document as fu writes it, read back by Foundation's JSONSerialization.
func plainJSON(_ value: JSONValue) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(value.rendered().utf8), options: [.fragmentsAllowed])
}

/// The number at a path like `1/precision` or `confusion_matrix/1/1` in a JSONSerialization
/// document: a key of an object, or an index into an array.
func plainNumber(_ document: Any?, at path: String) -> Double? {
    var value = document
    for part in path.split(separator: "/", omittingEmptySubsequences: false).map(String.init) {
        if let object = value as? [String: Any] {
            value = object[part]
        } else if let array = value as? [Any], let index = Int(part), array.indices.contains(index) {
            value = array[index]
        } else {
            return nil
        }
    }
    return (value as? NSNumber)?.doubleValue
}
