#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// fu-report's output: one self-contained HTML page (inline CSS, SVG and a few lines of
/// script, no network) and the curves as tables.
///
/// Every number on the page is either drawn from the inputs' JSON — then its element
/// carries `data-src` (test, cv or model), `data-key` (a path such as `1/f1-score`) and
/// `data-value` (the number as the JSON has it), so a test can compare the page with the
/// files — or is a curve point computed from the scored users, saved in the CSV files.
public struct EvaluationReport: Sendable {
    public var inputs: ReportInputs
    public var test: EvaluationCurves
    public var outOfFold: EvaluationCurves?
    /// With a calibrated model: the test users as the regression scored them before its
    /// Platt calibration (fu-score wrote the calibrated probabilities), to show both.
    public var testBeforeCalibration: ScoredUsers?
    /// Most points one drawn series holds (the CSV files hold them all).
    public static let pointLimit = 500

    public init(_ inputs: ReportInputs) {
        self.inputs = inputs
        test = EvaluationCurves(inputs.test)
        outOfFold = inputs.outOfFold.map { EvaluationCurves($0) }
        if let calibration = inputs.model.calibration {
            let decisions = inputs.test.probabilities.compactMap { calibration.decision(forProbability: $0) }
            if decisions.count == inputs.test.count {
                var before = inputs.test
                before.probabilities = decisions.map(sigmoid)
                testBeforeCalibration = before
            }
        }
    }

    // MARK: Numbers from the inputs

    func source(_ name: String) -> JSONValue? {
        switch name {
        case "test": return inputs.testMetrics
        case "cv": return inputs.crossValidation
        case "parameters": return inputs.parameters
        case "baseline": return inputs.baseline
        case "early": return inputs.earlyDetection
        case "earlyplain": return inputs.earlyDetectionWithoutPolicy
        default: return inputs.modelJSON
        }
    }

    /// The JSON value at a path like `per_fold/2/f1` or `confusion_matrix/0/1`.
    static func lookup(_ document: JSONValue?, _ path: String) -> JSONValue? {
        var value = document
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            if let items = value?.arrayValue, let index = Int(part) {
                value = items.indices.contains(index) ? items[index] : nil
            } else {
                value = value?[String(part)]
            }
        }
        return value
    }

    /// One number from an input, tagged with where it came from; "—" when it is missing.
    /// `digits` decimals (negative: the shortest text that reads back, as in the JSON);
    /// a count is a whole number grouped by thousands. `function` "exp" shows e^value (an
    /// odds ratio) and says so in `data-fn`.
    func number(_ sourceName: String, _ path: String, digits: Int = 4, count: Bool = false, function: String? = nil) -> String {
        guard let json = EvaluationReport.lookup(source(sourceName), path), let raw = json.doubleValue else {
            return "<span class=\"missing\">—</span>"
        }
        let value = function == "exp" ? exp(raw) : raw
        let text: String
        if count, let whole = json.intValue {
            text = groupedInteger(whole)
        } else {
            text = digits < 0 ? shortest(value) : function == "exp" && !(0.001..<1000).contains(value) ? significant(value, digits) : fixed(value, digits)
        }
        let tag = function.map { " data-fn=\"\($0)\"" } ?? ""
        return "<span class=\"num\" data-src=\"\(sourceName)\" data-key=\"\(escapeHTML(path))\"\(tag) data-value=\"\(shortest(value))\">\(text)</span>"
    }

    /// Text from an input (a name, a flag), escaped; "—" when missing.
    func text(_ sourceName: String, _ path: String) -> String {
        switch EvaluationReport.lookup(source(sourceName), path) {
        case .string(let value)?: return escapeHTML(value)
        case .bool(let value)?: return value ? "yes" : "no"
        case let value? where value.intValue != nil: return number(sourceName, path, count: true)
        case let value? where value.doubleValue != nil: return number(sourceName, path, digits: -1)
        default: return "<span class=\"missing\">—</span>"
        }
    }

    // MARK: The page

    public var html: String {
        var cards: [String] = []
        cards.append(summaryCard)
        if inputs.baseline != nil { cards.append(baselineCard) }
        cards.append(confusionCard)
        cards.append(rocCard)
        cards.append(precisionRecallCard)
        cards.append(calibrationCard)
        cards.append(thresholdCard)
        if hasDecisionCard { cards.append(decisionCard) }
        if inputs.crossValidation != nil { cards.append(crossValidationCard) }
        if inputs.earlyDetection != nil { cards.append(earlyDetectionCard) }
        cards.append(classReportCard)
        cards.append(dataCard)
        cards.append(provenanceCard)
        cards.append(featuresCard)
        cards.append(mistakesCard)
        let model = inputs.model
        let subtitle = "Logistic regression on \(model.features.count) features · threshold \(number("test", "threshold", digits: 3))"
            + (inputs.date.map { " · made \(escapeHTML($0))" } ?? "")
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="fu-report \(fuVersion)">
            <title>fu evaluation report</title>
            <style>\(EvaluationReport.style)</style>
            </head>
            <body>
            <header><h1>Fake-user model: evaluation</h1><p>\(subtitle)</p></header>
            <main class="grid">
            \(cards.joined(separator: "\n"))
            </main>
            <footer>Made by fu-report \(fuVersion). Curves are computed from the scored users at every distinct probability (drawn with at most \(EvaluationReport.pointLimit) points each; the CSV files hold them all). Other numbers are the metrics files' own.</footer>
            <script>\(EvaluationReport.script)</script>
            </body>
            </html>

            """
    }

    func card(_ title: String, _ body: String, wide: Bool = false, id: String) -> String {
        "<section class=\"card\(wide ? " wide" : "")\" id=\"\(id)\"><h2>\(title)</h2>\n\(body)\n</section>"
    }

    func legend(_ entries: [(style: String, label: String)]) -> String {
        "<div class=\"legend\">" + entries.map { "<span><i class=\"key \($0.style)\"></i>\($0.label)</span>" }.joined() + "</div>"
    }

    var hasOutOfFold: Bool { outOfFold != nil }

    var summaryCard: String {
        var rows: [(String, String)] = [
            ("ROC AUC", number("test", "roc_auc")),
            ("Average precision", number("test", "average_precision")),
            ("F1 (fake)", number("test", "1/f1-score")),
            ("Precision (fake)", number("test", "1/precision")),
            ("Recall (fake)", number("test", "1/recall")),
            ("Accuracy", number("test", "accuracy")),
            ("Threshold", number("test", "threshold", digits: 3)),
        ]
        // Keys this fu does not write itself (newer metrics), shown as they come.
        let known: Set<String> = ["0", "1", "accuracy", "macro avg", "weighted avg", "roc_auc", "average_precision", "confusion_matrix", "threshold"]
        var leftOut: [String] = [], bounded: [Int] = []
        for (key, value) in inputs.testMetrics.objectPairs where !known.contains(key) {
            if value.doubleValue != nil {
                rows.append((label(key), number("test", key)))
            } else {
                for (inner, innerValue) in value.objectPairs where innerValue.doubleValue != nil {
                    // Precision at k for k at least the test set's size is only its share of fakes.
                    if key == "precision_at_k", let k = Int(inner) {
                        if k >= inputs.test.count {
                            leftOut.append(escapeHTML(inner))
                            continue
                        }
                        // With fewer fakes than k, precision at k cannot pass fakes / k.
                        if k > inputs.test.positives { bounded.append(k) }
                    }
                    rows.append(("\(label(key)) · \(escapeHTML(inner))", number("test", "\(key)/\(inner)")))
                }
            }
        }
        var body = "<table class=\"figures\">" + rows.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }.joined() + "</table>"
        if !leftOut.isEmpty {
            body += "<p class=\"note\">Precision at k = \(leftOut.joined(separator: ", ")) is left out: the test set has only \(groupedInteger(inputs.test.count)) users, so it would be the share of fakes among them.</p>"
        }
        if !bounded.isEmpty {
            let fakes = inputs.test.positives
            body += "<p class=\"note\">The test set has \(groupedInteger(fakes)) fakes, so precision at k is at most "
                + bounded.map { "\(fixed(Double(fakes) / Double($0), 3)) for k = \($0)" }.joined(separator: ", ") + ".</p>"
        }
        body += bestThresholdNote
        if inputs.crossValidation != nil {
            body += "<p class=\"note\">Cross-validation F1 \(number("cv", "mean_f1")) ± \(number("cv", "std_f1")), ROC AUC \(number("cv", "mean/roc_auc")) ± \(number("cv", "std/roc_auc")).</p>"
        }
        return card("Test set", body, id: "summary")
    }

    /// This run's test metrics beside the baseline's (`--baseline`), as the terminal table.
    var baselineCard: String {
        let comparison = MetricsComparison(old: inputs.baseline ?? .null, new: inputs.testMetrics)
        let rows = comparison.rows.map { row in
            let change = row.change.map { change in
                row.isCount ? "<span class=\"num\" data-computed=\"change/\(escapeHTML(row.key))\" data-value=\"\(shortest(change))\">\(change > 0 ? "+" : "")\(shortest(change))</span>"
                    : (change > 0 ? "+" : "") + computed("change/\(escapeHTML(row.key))", change)
            } ?? "<span class=\"missing\">—</span>"
            return "<tr><th>\(row.metric)</th><td>\(number("baseline", row.key, count: row.isCount))</td>"
                + "<td>\(number("test", row.key, count: row.isCount))</td><td>\(change)</td></tr>"
        }
        let body = "<table class=\"figures\"><tr><th></th><th>baseline</th><th>this run</th><th>change</th></tr>" + rows.joined() + "</table>"
            + "<p class=\"note\">The baseline is a previous run's test metrics (<code>--baseline</code>); change is this run's value minus the baseline's.</p>"
        return card("Compared with the baseline", body, id: "baseline")
    }

    func label(_ key: String) -> String {
        var words = escapeHTML(key.replacingUnderscores())
        if let first = words.first { words = first.uppercased() + words.dropFirst() }
        return words
    }

    var confusionCard: String {
        let cell = { (row: Int, column: Int, kind: String) in
            "<td class=\"\(kind)\">\(self.number("test", "confusion_matrix/\(row)/\(column)", count: true))<small>\(kind)</small></td>"
        }
        let body = """
            <table class="confusion">
            <tr><td></td><th>predicted real</th><th>predicted fake</th></tr>
            <tr><th>actual real</th>\(cell(0, 0, "TN"))\(cell(0, 1, "FP"))</tr>
            <tr><th>actual fake</th>\(cell(1, 0, "FN"))\(cell(1, 1, "TP"))</tr>
            </table>
            <p class="note">Test users at threshold \(number("test", "threshold", digits: 3)): a user is predicted fake when P(fake) ≥ threshold.</p>
            """
        return card("Confusion matrix", body, id: "confusion")
    }

    func points(_ table: CurveTable, _ x: String, _ y: String) -> [(Double, Double)] {
        downsample(Array(zip(table.column(x), table.column(y))), limit: EvaluationReport.pointLimit)
    }

    var rocCard: String {
        var chart = SVGChart(id: "roc", xLabel: "False positive rate", yLabel: "True positive rate")
        chart.diagonal()
        if let outOfFold { chart.line(points(outOfFold.roc, "fpr", "tpr"), series: "oof", style: "s-oof") }
        chart.line(points(test.roc, "fpr", "tpr"), series: "test", style: "s-test")
        var entries = [(style: "s-test", label: "test, AUC \(number("test", "roc_auc"))")]
        if hasOutOfFold { entries.append(("s-oof", "out-of-fold, AUC \(number("cv", "out_of_fold/roc_auc"))")) }
        return card("ROC curve", chart.render(label: "ROC curve") + legend(entries), id: "roc-card")
    }

    var precisionRecallCard: String {
        var chart = SVGChart(id: "pr", xLabel: "Recall", yLabel: "Precision")
        if let outOfFold { chart.line(points(outOfFold.precisionRecall, "recall", "precision"), series: "oof", style: "s-oof") }
        chart.line(points(test.precisionRecall, "recall", "precision"), series: "test", style: "s-test")
        var entries = [(style: "s-test", label: "test, AP \(number("test", "average_precision"))")]
        if hasOutOfFold { entries.append(("s-oof", "out-of-fold, AP \(number("cv", "out_of_fold/average_precision"))")) }
        return card("Precision–recall curve", chart.render(label: "Precision-recall curve") + legend(entries), id: "pr-card")
    }

    var calibrationCard: String {
        var chart = SVGChart(id: "calibration", xLabel: "Mean predicted probability (10 bins)", yLabel: "Fraction fake")
        chart.diagonal()
        func draw(_ table: CurveTable, series: String, style: String) {
            let mean = table.column("mean_predicted"), fraction = table.column("fraction_positive")
            let count = table.column("count"), bin = table.column("bin")
            chart.line(Array(zip(mean, fraction)), series: nil, style: style)
            chart.markers(mean.indices.map {
                (mean[$0], fraction[$0], "\(series) bin \(Int(bin[$0]) + 1): \(Int(count[$0])) users, mean predicted \(fixed(mean[$0], 3)), fraction fake \(fixed(fraction[$0], 3))")
            }, series: series, style: style)
        }
        if let outOfFold { draw(outOfFold.calibration, series: "oof", style: "s-oof") }
        if let testBeforeCalibration {
            draw(calibrationBins(testBeforeCalibration, bins: EvaluationCurves.calibrationBinCount), series: "before", style: "s-before")
        }
        draw(test.calibration, series: "test", style: "s-test")
        var entries = [(style: "s-test", label: testBeforeCalibration == nil ? "test" : "test, calibrated")]
        if testBeforeCalibration != nil { entries.append(("s-before", "test, before calibration")) }
        if hasOutOfFold { entries.append(("s-oof", "out-of-fold\(testBeforeCalibration == nil ? "" : " (fu-cv's fold models, not calibrated)")")) }
        var note = "<p class=\"note\">Points on the diagonal are calibrated. Bins are tenths of the probability; empty bins are left out.</p>"
        if let testBeforeCalibration {
            let (logLoss, brier) = probabilityLosses(labels: testBeforeCalibration.labels, probabilities: testBeforeCalibration.probabilities)
            note = "<p class=\"losses\">Test users: Brier score \(computed("brier_score_before_calibration", brier)) before calibration, "
                + "\(number("test", "brier_score")) after; log loss \(computed("log_loss_before_calibration", logLoss)) before, "
                + "\(number("test", "log_loss")) after.</p>" + note
        }
        return card("Reliability (calibration)", chart.render(label: "Reliability diagram") + legend(entries) + note, id: "calibration-card")
    }

    /// A number the report computed itself (not from an input file), tagged with its name.
    func computed(_ name: String, _ value: Double?, digits: Int = 4) -> String {
        guard let value else { return "<span class=\"missing\">—</span>" }
        return "<span class=\"num\" data-computed=\"\(name)\" data-value=\"\(shortest(value))\">\(fixed(value, digits))</span>"
    }

    var thresholdCard: String {
        var chart = SVGChart(id: "threshold", xLabel: "Threshold", yLabel: "Score (fake class)")
        let table = test.threshold
        for (name, style) in [("precision", "s-precision"), ("recall", "s-recall"), ("f1", "s-f1")] {
            chart.line(points(table, "threshold", name), series: name, style: style)
        }
        // The capacity curve: the share of test users a threshold flags (probability ≥ it).
        let users = Double(max(inputs.test.count, 1))
        let flagged = zip(table.column("true_positives"), table.column("false_positives")).map { ($0 + $1) / users }
        chart.line(downsample(Array(zip(table.column("threshold"), flagged)), limit: EvaluationReport.pointLimit), series: "flagged", style: "s-flagged")
        if let best = inputs.crossValidation?["best_threshold"]?.doubleValue {
            chart.vertical(at: best, style: "best", label: "F1-optimal out-of-fold threshold \(fixed(best, 4))")
        }
        let chosen = inputs.threshold
        chart.vertical(at: chosen, style: "chosen", label: "chosen threshold \(fixed(chosen, 4))")
        var atChosen: [(x: Double, y: Double, title: String)] = [("precision", "1/precision"), ("recall", "1/recall"), ("F1", "1/f1-score")]
            .compactMap { name, path in
                EvaluationReport.lookup(inputs.testMetrics, path)?.doubleValue.map { (chosen, $0, "\(name) at the threshold: \(fixed($0, 4))") }
            }
        let predictedFake = [0, 1].compactMap { EvaluationReport.lookup(inputs.testMetrics, "confusion_matrix/\($0)/1")?.intValue }
        if predictedFake.count == 2 {
            let share = Double(predictedFake[0] + predictedFake[1]) / users
            atChosen.append((chosen, share, "share flagged at the threshold: \(fixed(share, 4))"))
        }
        chart.markers(atChosen, series: "chosen", style: "s-chosen")
        var entries: [(style: String, label: String)] = [("s-precision", "precision"), ("s-recall", "recall"), ("s-f1", "F1"),
                                                         ("s-flagged", "share flagged"),
                                                         ("chosen", "chosen \(number("test", "threshold", digits: 3))")]
        if inputs.crossValidation?["best_threshold"] != nil {
            entries.append(("best", "best out-of-fold F1 at \(number("cv", "best_threshold", digits: 3))"))
        }
        // How the model's threshold was chosen (a review capacity, a cost), at the point it marks.
        let note = "<p class=\"note\">The model's threshold: \(text("model", "training/threshold_source")).</p>"
        return card("Precision, recall, F1 and users flagged by threshold",
                    chart.render(label: "Precision, recall, F1 and the share of users flagged against the threshold") + legend(entries) + note,
                    id: "threshold-card")
    }

    /// The test users' events replayed in arrival order: fakes caught and real users ever
    /// flagged within n events, with the model's stream policy and with its threshold alone.
    var earlyDetectionCard: String {
        var chart = SVGChart(id: "early", xLabel: "Events seen", yLabel: "Share of users")
        chart.xRange = 0...Double(EarlyDetection.curveLength)
        chart.xTicks = stride(from: 0, through: EarlyDetection.curveLength, by: 5).map(Double.init)
        chart.tickDigits = 0
        let runs = [("early", "", "policy"), ("earlyplain", "plain", "threshold alone")]
        var entries: [(style: String, label: String)] = []
        var rows: [String] = []
        for (name, suffix, label) in runs {
            guard let replay = source(name), let events = replay["curve"]?["events"]?.arrayValue else { continue }
            for (curve, series, style, what) in [("fakes_caught", "fakescaught", "s-fakes", "fakes caught"),
                                                 ("real_ever_flagged", "realeverflagged", "s-real", "real users ever flagged")] {
                let shares = replay["curve"]?[curve]?.arrayValue ?? []
                let points = zip(events, shares).compactMap { event, share in event.doubleValue.flatMap { x in share.doubleValue.map { (x, $0) } } }
                chart.line(points, series: series + suffix, style: style + (suffix.isEmpty ? "" : "-plain"))
                entries.append((style + (suffix.isEmpty ? "" : "-plain"), "\(what), \(label)"))
            }
            rows.append("<tr><th>\(label)</th><td>\(number(name, "fakes_caught", count: true)) of \(number(name, "fakes", count: true))</td>"
                + "<td>\(number(name, "events_to_flag/median", digits: -1)) / \(number(name, "events_to_flag/p90", digits: 3))</td>"
                + "<td>\(number(name, "real_ever_flagged", count: true))</td><td>\(number(name, "real_flagged_at_end", count: true))</td></tr>")
        }
        let table = "<table class=\"kv\"><tr><th></th><th>fakes caught</th><th>events to flag (median / p90)</th><th>real users ever flagged</th><th>flagged at the end</th></tr>"
            + rows.joined() + "</table>"
        let note = "<p class=\"note\">The test users' events replayed in arrival order, each user scored after each event (fu-watch --truth). "
            + "Real users ever flagged are false alarms a reviewer sees, even when later events clear them; the policy was chosen on training users only.</p>"
        // Chart beside the table: alone across a wide card the chart would be drawn huge.
        let drawn = chart.render(label: "Fakes caught and real users ever flagged against events seen") + legend(entries)
        return card("Early detection in a stream", "<div class=\"split\"><div>\(drawn)</div><div>\(table + note)</div></div>", wide: true, id: "early-card")
    }

    var crossValidationCard: String {
        let folds = inputs.crossValidation?["per_fold"]?.arrayValue ?? []
        var chart = SVGChart(id: "folds", xLabel: "Fold", yLabel: "F1 (fake)")
        chart.xRange = 0...Double(max(folds.count, 1))
        chart.xTicks = []
        chart.body += "<g data-series=\"f1\" class=\"bars\">"
        for (index, fold) in folds.enumerated() {
            let f1 = fold["f1"]?.doubleValue ?? 0
            let left = chart.x(Double(index) + 0.2), right = chart.x(Double(index) + 0.8), top = chart.y(f1), bottom = chart.y(0)
            chart.body += "<rect x=\"\(fixed(left, 1))\" y=\"\(fixed(top, 1))\" width=\"\(fixed(right - left, 1))\" height=\"\(fixed(bottom - top, 1))\"><title>fold \(index + 1): F1 \(fixed(f1, 4))</title></rect>"
        }
        chart.body += "</g>\n<g class=\"ticks\">"
        for index in folds.indices {
            chart.body += "<text x=\"\(fixed(chart.x(Double(index) + 0.5), 1))\" y=\"\(fixed(SVGChart.height - SVGChart.bottom + 14, 1))\" text-anchor=\"middle\">\(index + 1)</text>"
        }
        chart.body += "</g>\n"
        if let mean = inputs.crossValidation?["mean_f1"]?.doubleValue {
            chart.line([(chart.xRange.lowerBound, mean), (chart.xRange.upperBound, mean)], series: nil, style: "mean", title: "mean F1 \(fixed(mean, 4))")
        }
        var rows = ""
        for index in folds.indices {
            rows += "<tr><td>\(index + 1)</td>" + ["f1", "precision", "recall", "roc_auc", "average_precision"]
                .map { "<td>\(number("cv", "per_fold/\(index)/\($0)"))</td>" }.joined() + "</tr>"
        }
        rows += "<tr class=\"total\"><td>mean</td>" + ["f1", "precision", "recall", "roc_auc", "average_precision"]
            .map { "<td>\(number("cv", "mean/\($0)"))<small> ± \(number("cv", "std/\($0)"))</small></td>" }.joined() + "</tr>"
        let table = "<table class=\"folds\"><tr><th>fold</th><th>F1</th><th>precision</th><th>recall</th><th>ROC AUC</th><th>AP</th></tr>\(rows)</table>"
        let note = "<p class=\"note\">\(number("cv", "folds", count: true)) stratified folds (seed \(number("cv", "seed", count: true))), each model fitted on the other folds, scored at 0.5. Line: mean F1 \(number("cv", "mean_f1")) ± \(number("cv", "std_f1")).</p>"
        let body = "<div class=\"split\"><div>\(chart.render(label: "F1 per cross-validation fold"))</div><div>\(table)\(note)</div></div>"
        return card("Cross-validation: F1 per fold", body, wide: true, id: "cv-card")
    }

    var classReportCard: String {
        let classes = [("0", "real (0)"), ("1", "fake (1)"), ("macro avg", "macro avg"), ("weighted avg", "weighted avg")]
        var rows = ""
        for (key, name) in classes {
            rows += "<tr><th>\(name)</th>" + ["precision", "recall", "f1-score"].map { "<td>\(number("test", "\(key)/\($0)"))</td>" }.joined()
                + "<td>\(number("test", "\(key)/support", count: true))</td></tr>"
        }
        let body = "<table class=\"folds\"><tr><th></th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\(rows)</table>"
        return card("Classification report (test)", body, id: "classes")
    }

    var featuresCard: String {
        let model = inputs.model
        let order = model.coefficients.indices.sorted {
            abs(model.coefficients[$0]) != abs(model.coefficients[$1]) ? abs(model.coefficients[$0]) > abs(model.coefficients[$1]) : $0 < $1
        }
        let largest = model.coefficients.map(abs).max() ?? 1
        var rows = ""
        for index in order {
            let coefficient = model.coefficients[index]
            let width = largest > 0 ? abs(coefficient) / largest * 50 : 0
            let bar = coefficient >= 0
                ? "<span class=\"bar up\" style=\"left:50%;width:\(fixed(width, 1))%\"></span>"
                : "<span class=\"bar down\" style=\"left:\(fixed(50 - width, 1))%;width:\(fixed(width, 1))%\"></span>"
            let name = model.features[index]
            rows += "<tr><th>\(escapeHTML(name))<br><small class=\"meaning\">\(escapeHTML(FeatureSet.meaning(of: name)))</small></th><td>\(number("model", "coefficients/\(index)"))</td>"
                + "<td class=\"barcell\"><span class=\"axis\"></span>\(bar)</td>"
                + "<td>\(number("model", "coefficients/\(index)", digits: 3, function: "exp"))</td>"
                + "<td>\(number("model", "feature_summary/mean_fake/\(index)", digits: 3))</td><td>\(number("model", "feature_summary/mean_real/\(index)", digits: 3))</td>"
                + "<td>\(number("model", "scaler/scale/\(index)", digits: 3))</td><td>\(number("model", "scaler/mean/\(index)", digits: 3))</td></tr>"
        }
        rows += "<tr class=\"total\"><th>intercept</th><td>\(number("model", "intercept"))</td><td class=\"note\">odds of fake for a user at every mean →</td><td>\(number("model", "intercept", digits: 3, function: "exp"))</td><td></td><td></td><td></td><td></td></tr>"
        let body = """
            <p class="note">Coefficients are per standard deviation of the feature (the model standardizes with the training users' mean and SD), so the odds ratio e<sup>coefficient</sup> is how the odds of fake multiply when the feature rises by one SD <em>with the other features held still</em>. Sorted by |coefficient|; red raises P(fake), blue lowers it. The means by class are the training users' (what fakes and real users look like).</p>
            \(correlatedNote)
            <table class="features"><tr><th>feature</th><th>coefficient</th><th class="barcell">← real · fake →</th><th>odds ratio per SD</th><th>mean, fakes</th><th>mean, real</th><th>SD</th><th>mean</th></tr>
            \(rows)</table>
            """
        return card("Features", body, wide: true, id: "features")
    }

    var dataCard: String {
        func row(_ name: String, _ source: String, _ users: String, _ fakes: String) -> String {
            "<tr><th>\(name)</th><td>\(number(source, users, count: true))</td><td>\(number(source, fakes, count: true))</td></tr>"
        }
        var rows = row("training (fit)", "model", "training/rows", "training/positives")
        if inputs.crossValidation != nil { rows += row("cross-validation", "cv", "rows", "positives") }
        rows += row("test", "test", "macro avg/support", "1/support")
        let body = """
            <table class="folds"><tr><th></th><th>users (rows)</th><th>fake</th></tr>\(rows)</table>
            <p class="note">One feature row per user. Cross-validation runs on the training users; the test users are held out from both.</p>
            """
        return card("Data", body, id: "data")
    }

    var provenanceCard: String {
        var items: [(String, String)] = []
        items.append(("input", (inputs.inputName.map { "<code>\(escapeHTML($0))</code> " } ?? "")
            + (inputs.inputDigest.map { "<code>\(escapeHTML($0))</code>" } ?? "<span class=\"missing\">digest not given</span>")))
        items.append(("model", "C \(text("model", "training/C")), class weight \(text("model", "training/class_weight")), \(text("model", "training/solver")), \(text("model", "training/iterations")) iterations, converged \(text("model", "training/converged"))"))
        items.append(("threshold source", text("model", "training/threshold_source")))
        if let calibration = inputs.modelJSON["calibration"], calibration != .null {
            let parts = calibration.objectPairs.map { key, _ in "\(escapeHTML(key)) \(text("model", "calibration/\(key)"))" }
            items.append(("calibration", parts.isEmpty ? escapeHTML(calibration.rendered()) : parts.joined(separator: ", ")))
        }
        if inputs.crossValidation != nil {
            items.append(("cross-validation", "\(text("cv", "folds")) folds, seed \(text("cv", "seed")), C \(text("cv", "C")), class weight \(text("cv", "class_weight"))"))
        }
        if let parameters = inputs.parameters {
            let parts = parameters.objectPairs.map { key, _ in "\(escapeHTML(key)) \(text("parameters", key))" }
            items.append(("workflow parameters", parts.joined(separator: ", ")))
        }
        items.append(("fu version", "model by \(text("model", "training/tool_version")), report by \(fuVersion)"))
        items.append(("date", inputs.date.map(escapeHTML) ?? "<span class=\"missing\">not recorded (reproducible build)</span>"))
        let body = "<dl>" + items.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
        return card("Provenance", body, id: "provenance")
    }

    // MARK: Style and script

    static let style = """
        :root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--card:#fff;--bg:#f4f5f7;--test:#2563eb;--oof:#ea580c;--fake:#dc2626;--real:#2563eb}
        *{box-sizing:border-box}
        body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
        header{padding:20px 28px 4px}h1{font-size:22px;margin:0 0 2px}header p{margin:0;color:var(--muted)}
        main.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:16px;padding:16px 28px}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.04);min-width:0}
        .card.wide{grid-column:1/-1}
        .split{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,2fr);gap:24px;align-items:start}
        .split svg{max-width:420px}.split th{white-space:normal}
        @media (max-width:900px){.split{grid-template-columns:1fr}}
        h2{font-size:15px;margin:0 0 10px}
        svg{width:100%;height:auto;display:block;font-size:10px}
        svg .grid line{stroke:#eef0f3}svg .frame{fill:none;stroke:#9ca3af}svg .ticks text{fill:var(--muted)}svg .axis{fill:var(--ink);font-size:11px}
        polyline{fill:none;stroke-width:2;stroke-linejoin:round}
        .diagonal{stroke:#c4c8cf;stroke-dasharray:4 4;stroke-width:1}
        .s-test{stroke:var(--test);fill:var(--test)}polyline.s-test{fill:none}
        .s-oof{stroke:var(--oof);fill:var(--oof)}polyline.s-oof{fill:none;stroke-dasharray:6 3;stroke-width:1.6}
        .s-before{stroke:var(--muted);fill:var(--muted)}polyline.s-before{fill:none;stroke-dasharray:2 3;stroke-width:1.6}
        .s-precision{stroke:#2563eb}.s-recall{stroke:#16a34a}.s-f1{stroke:#9333ea}polyline.s-flagged{stroke:#64748b;stroke-dasharray:2 3;stroke-width:1.6}
        polyline.s-fakes,polyline.s-real,polyline.s-fakes-plain,polyline.s-real-plain{fill:none}
        .s-fakes{stroke:#16a34a}.s-real{stroke:#dc2626}.s-fakes-plain{stroke:#16a34a;stroke-dasharray:6 3}.s-real-plain{stroke:#dc2626;stroke-dasharray:6 3}
        polyline.s-limit{stroke:#dc2626;stroke-dasharray:4 3;stroke-width:1.2}
        g.s-chosen circle{fill:#111827}
        line.chosen{stroke:#111827;stroke-width:1.5}line.best{stroke:var(--oof);stroke-dasharray:3 3;stroke-width:1.5}
        .bars rect{fill:var(--test);opacity:.85}polyline.mean{stroke:var(--oof);stroke-dasharray:5 3;stroke-width:1.5}
        .legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin-top:6px;color:var(--muted);font-size:12.5px}
        .legend .key{display:inline-block;width:18px;height:0;border-top:3px solid;margin-right:6px;vertical-align:middle}
        .key.s-test{border-color:var(--test)}.key.s-oof{border-top-style:dashed;border-color:var(--oof)}.key.s-before{border-top-style:dotted;border-color:var(--muted)}
        .key.s-precision{border-color:#2563eb}.key.s-recall{border-color:#16a34a}.key.s-f1{border-color:#9333ea}.key.s-flagged{border-top-style:dotted;border-color:#64748b}
        .key.s-fakes{border-color:#16a34a}.key.s-real{border-color:#dc2626}.key.s-fakes-plain{border-top-style:dashed;border-color:#16a34a}.key.s-real-plain{border-top-style:dashed;border-color:#dc2626}
        .key.s-limit{border-top-style:dashed;border-color:#dc2626}
        .key.chosen{border-color:#111827;width:3px;height:12px;border-top:0;border-left:2px solid #111827}
        .key.best{border-color:var(--oof);width:3px;height:12px;border-top:0;border-left:2px dashed var(--oof)}
        table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13px}
        th,td{padding:4px 6px;border-bottom:1px solid var(--line);text-align:right}
        th:first-child,td:first-child{text-align:left}th{font-weight:600;white-space:nowrap}
        td small{white-space:nowrap}
        table.figures th{font-weight:500;color:var(--muted)}table.figures td{font-size:16px;font-weight:600}
        tr.total td,tr.total th{border-top:2px solid var(--line);font-weight:600}
        table.confusion td{text-align:center;font-size:22px;font-weight:600;padding:14px}
        table.confusion th{text-align:center;color:var(--muted);font-weight:500}
        table.confusion small{display:block;font-size:11px;color:var(--muted);font-weight:500}
        td.TP,td.TN{background:#ecfdf5}td.FP,td.FN{background:#fef2f2}
        .barcell{position:relative;width:28%;min-width:120px}
        .barcell .axis{position:absolute;left:50%;top:3px;bottom:3px;border-left:1px solid #9ca3af}
        .bar{position:absolute;top:6px;bottom:6px;border-radius:2px}.bar.up{background:var(--fake)}.bar.down{background:var(--real)}
        small{color:var(--muted)}
        .note{color:var(--muted);font-size:12.5px;margin:8px 0}
        .missing{color:var(--muted)}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
        code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
        footer{padding:4px 28px 24px;color:var(--muted);font-size:12px}
        """

    /// Records what the browser drew, for a test reading the rendered page: on every chart
    /// `data-drawn` = "series:points …" (points of a polyline as the browser parsed them,
    /// or the circles and bars of a group) and on <html> the number of charts checked.
    static let script = """
        (function(){var charts=document.querySelectorAll("svg[data-chart]");charts.forEach(function(svg){
        var parts=[];svg.querySelectorAll("[data-series]").forEach(function(el){
        var n=el.points?el.points.numberOfItems:el.querySelectorAll("circle,rect").length;
        var box=el.getBBox();parts.push(el.getAttribute("data-series")+":"+n+(box.width>0||box.height>0?"":":empty"));});
        svg.setAttribute("data-drawn",parts.join(" "));});
        document.documentElement.setAttribute("data-charts-checked",String(charts.length));})();
        """
}

extension JSONValue {
    /// The pairs of an object (none for anything else).
    var objectPairs: [(String, JSONValue)] {
        if case .object(let pairs) = self { return pairs }
        return []
    }
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}

/// `digits` significant digits: 3.65, 0.263, 0.000265 as 2.65e-4, 1.2e+06 as 1.20e6.
func significant(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite, value != 0 else { return fixed(value, digits - 1) }
    let exponent = Int((log10(abs(value))).rounded(.down))
    if exponent >= -3 && exponent < digits + 3 { return fixed(value, max(0, digits - 1 - exponent)) }
    var mantissa = value
    for _ in 0..<abs(exponent) { mantissa = exponent > 0 ? mantissa / 10 : mantissa * 10 }
    return "\(fixed(mantissa, digits - 1))e\(exponent)"
}

/// 12345 as "12,345".
func groupedInteger(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
        result.append(digit)
    }
    return (value < 0 ? "-" : "") + result
}
