import FakeUserKit
import Foundation
import Testing

/// fu-report on the outputs of the other tools, and the page it writes opened in Chromium.
@Suite(.serialized) struct ReportEndToEnd {
    /// synth → featurize → split → cv (--oof) → fit → score (--metrics) → report.
    static func pipeline(_ work: Workdir, users: Int = 1500, reportArguments: [String] = []) throws -> Workdir.Result {
        let steps = """
            set -e
            fu-synth --users \(users) --seed 4 -o events.csv
            fu-featurize -i events.csv -o features.csv
            fu-split --test-size 0.2 --seed 42 --test test.csv -i features.csv -o train.csv
            fu-cv --folds 5 --oof oof.csv -i train.csv -o cv.json
            fu-fit -i train.csv -o model.json
            fu-score -m model.json --metrics test-metrics.json -i test.csv -o predictions.csv
            """
        let built = try work.shell(steps)
        #expect(built.status == 0, "\(built.stderr)")
        return try work.run("fu-report", [
            "-m", "model.json", "--predictions", "predictions.csv", "--truth", "test.csv", "--metrics", "test-metrics.json",
            "--cv", "cv.json", "--oof", "oof.csv", "--curves-dir", "curves", "-o", "report.html",
        ] + reportArguments)
    }

    /// Every number the page tags with `data-src`/`data-key`: (source, key, function, value, shown text).
    static func figures(_ html: String) -> [(source: String, key: String, function: String?, value: Double, text: String)] {
        let pattern = try! NSRegularExpression(
            pattern: #"<span class="num" data-src="([a-z]+)" data-key="([^"]*)"(?: data-fn="([a-z]+)")? data-value="([^"]+)">([^<]*)</span>"#)
        let text = html as NSString
        return pattern.matches(in: html, range: NSRange(location: 0, length: text.length)).map { match in
            func group(_ index: Int) -> String? {
                match.range(at: index).location == NSNotFound ? nil : text.substring(with: match.range(at: index))
            }
            return (group(1)!, group(2)!.replacingOccurrences(of: "&amp;", with: "&"), group(3), Double(group(4)!)!, group(5)!)
        }
    }

    /// The value at a path like `per_fold/2/f1`. fu's own JSON reader: Foundation's
    /// JSONSerialization on Linux reads some doubles one unit in the last place off.
    static func lookup(_ document: JSONValue?, _ path: String) -> Double? {
        var value = document
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            if let items = value?.arrayValue, let index = Int(part) {
                value = items.indices.contains(index) ? items[index] : nil
            } else {
                value = value?[String(part)]
            }
        }
        return value?.doubleValue
    }

    static func json(_ work: Workdir, _ name: String) throws -> JSONValue {
        try readJSON(work.path(name), what: name)
    }

    /// Checks each tagged number against its file; returns how many were checked.
    static func checkFigures(_ html: String, _ sources: [String: JSONValue]) -> Int {
        let found = figures(html)
        for figure in found {
            guard let raw = lookup(sources[figure.source], figure.key) else {
                Issue.record("\(figure.source)/\(figure.key) is shown but not in the inputs")
                continue
            }
            let expected = figure.function == "exp" ? exp(raw) : raw
            #expect(figure.value == expected, "\(figure.source)/\(figure.key): shows \(figure.value), the file has \(expected)")
            // The text is the value rounded: to 3 or 4 decimals, or 3 significant digits for tiny or
            // huge odds ratios (integers grouped by thousands).
            let shown = Double(figure.text.replacingOccurrences(of: ",", with: ""))
            let tolerance = figure.function == "exp" ? max(0.0005, 0.005 * abs(expected)) : 0.0005 * max(1, abs(expected))
            #expect(shown.map { abs($0 - expected) <= tolerance } == true,
                    "\(figure.source)/\(figure.key): text '\(figure.text)' for \(expected)")
        }
        return found.count
    }

    @Test func everyNumberShownIsTheInputs() throws {
        let work = try Workdir()
        let result = try ReportEndToEnd.pipeline(work)
        #expect(result.status == 0, "\(result.stderr)")
        let html = try work.read("report.html")
        let sources: [String: JSONValue] = ["test": try ReportEndToEnd.json(work, "test-metrics.json"), "cv": try ReportEndToEnd.json(work, "cv.json"),
                                      "model": try ReportEndToEnd.json(work, "model.json")]
        let checked = ReportEndToEnd.checkFigures(html, sources)
        #expect(checked > 100)
        for key in ["roc_auc", "average_precision", "1/f1-score", "1/precision", "1/recall", "threshold", "confusion_matrix/1/1"] {
            #expect(ReportEndToEnd.figures(html).contains { $0.source == "test" && $0.key == key }, "\(key) is not shown")
        }
        #expect(ReportEndToEnd.figures(html).contains { $0.source == "cv" && $0.key == "per_fold/4/f1" })
        // Self-contained: no external scripts, styles, fonts or images.
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url(") && !html.contains("@import"))
    }

    @Test func curveFilesHoldEveryThresholdAndAgreeWithTheMetrics() throws {
        let work = try Workdir()
        #expect(try ReportEndToEnd.pipeline(work).status == 0)
        #expect(try work.shell("ls curves").stdout == "calibration.csv\npr.csv\nroc.csv\nthreshold.csv\n")
        let metrics = try ReportEndToEnd.json(work, "test-metrics.json")
        let predictions = csvRows(try work.read("predictions.csv")).dropFirst()
        let distinct = Set(predictions.map { $0[2] }).count

        let roc = csvRows(try work.read("curves/roc.csv"))
        #expect(roc[0] == ["threshold", "fpr", "tpr", "true_positives", "false_positives"])
        #expect(roc.count - 1 == distinct + 1)  // every distinct probability, and the start (0, 0) at inf
        #expect(roc[1] == ["inf", "0", "0", "0", "0"] && roc.last![1] == "1" && roc.last![2] == "1")
        var area = 0.0
        for (a, b) in zip(roc.dropFirst(), roc.dropFirst(2)) {
            area += (Double(b[1])! - Double(a[1])!) * (Double(a[2])! + Double(b[2])!) / 2
        }
        #expect(abs(area - ReportEndToEnd.lookup(metrics, "roc_auc")!) < 1e-12)

        let pr = csvRows(try work.read("curves/pr.csv"))
        #expect(pr[0] == ["threshold", "precision", "recall", "true_positives", "false_positives"])
        var ap = 0.0
        for (a, b) in zip(pr.dropFirst(), pr.dropFirst(2)) { ap += (Double(b[2])! - Double(a[2])!) * Double(b[1])! }
        #expect(abs(ap - ReportEndToEnd.lookup(metrics, "average_precision")!) < 1e-12)

        // At the model's threshold the threshold curve gives the metrics' precision, recall, F1.
        let sweep = csvRows(try work.read("curves/threshold.csv"))
        #expect(sweep[0] == ["threshold", "precision", "recall", "f1", "true_positives", "false_positives", "false_negatives", "true_negatives"])
        let threshold = ReportEndToEnd.lookup(metrics, "threshold")!
        let at = sweep.dropFirst().first { Double($0[0])! >= threshold }!
        #expect(Double(at[1])! == ReportEndToEnd.lookup(metrics, "1/precision")!)
        #expect(Double(at[2])! == ReportEndToEnd.lookup(metrics, "1/recall")!)
        #expect(Double(at[3])! == ReportEndToEnd.lookup(metrics, "1/f1-score")!)
        #expect(Int(at[4])! == Int(ReportEndToEnd.lookup(metrics, "confusion_matrix/1/1")!))

        let calibration = csvRows(try work.read("curves/calibration.csv"))
        #expect(calibration[0] == ["bin", "lower", "upper", "count", "mean_predicted", "fraction_positive"])
        #expect(calibration.dropFirst().map { Int($0[3])! }.reduce(0, +) == predictions.count)
        #expect(calibration.count - 1 <= 10)
    }

    @Test func inconsistentInputsAreRefused() throws {
        let work = try Workdir()
        #expect(try ReportEndToEnd.pipeline(work).status == 0)
        // Metrics made at another threshold (fu-score --threshold): the report uses the file's.
        #expect(try work.run("fu-score", ["-m", "model.json", "--threshold", "0.05", "--metrics", "other.json", "-i", "test.csv", "-o", "/dev/null"]).status == 0)
        let other = try work.run("fu-report", ["-m", "model.json", "--predictions", "predictions.csv", "--truth", "test.csv",
                                               "--metrics", "other.json", "-o", "other.html"])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(try work.read("other.html").contains("data-key=\"threshold\" data-value=\"0.05\""))
        // Metrics whose confusion matrix the predictions do not give.
        try work.write("bad-metrics.json", try work.read("test-metrics.json").replacingOccurrences(of: "\"threshold\": 0.5", with: "\"threshold\": 0.999"))
        let bad = try work.run("fu-report", ["-m", "model.json", "--predictions", "predictions.csv", "--truth", "test.csv",
                                             "--metrics", "bad-metrics.json", "-o", "bad.html"])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("fu-report: error: the metrics file's confusion matrix"))
        #expect(!(try work.files()).contains("bad.html"))
        // A user without truth.
        try work.write("truth.csv", "UserId,Fake\n")
        let noTruth = try work.run("fu-report", ["-m", "model.json", "--predictions", "predictions.csv", "--truth", "truth.csv", "-o", "x.html"])
        #expect(noTruth.status == 65 && noTruth.stderr.contains("has no truth in truth.csv") && noTruth.stderr.contains("(predictions.csv:2)"), "\(noTruth.stderr)")
        // The out-of-fold file of another run.
        try work.write("short-oof.csv", csvRows(try work.read("oof.csv")).prefix(10).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n")
        let short = try work.run("fu-report", ["-m", "model.json", "--predictions", "predictions.csv", "--truth", "test.csv",
                                               "--cv", "cv.json", "--oof", "short-oof.csv", "-o", "x.html"])
        #expect(short.status == 65 && short.stderr.contains("the out-of-fold file has 9 users"), "\(short.stderr)")
        #expect(try work.run("fu-report", ["--predictions", "predictions.csv"]).status == 64)
    }

    /// `--baseline`: each test metric's old and new value and the change, on stderr (the
    /// page may be on stdout) and in the page, against the two files.
    @Test func aBaselineIsComparedOnStderr() throws {
        let work = try Workdir()
        #expect(try ReportEndToEnd.pipeline(work).status == 0)
        #expect(try work.run("fu-score", ["-m", "model.json", "--threshold", "0.9", "--metrics", "old.json", "-i", "test.csv", "-o", "/dev/null"]).status == 0)
        let arguments = ["-m", "model.json", "--predictions", "predictions.csv", "--truth", "test.csv", "--metrics", "test-metrics.json", "--no-date"]
        let compared = try work.run("fu-report", arguments + ["--baseline", "old.json", "-o", "compared.html"])
        #expect(compared.status == 0, "\(compared.stderr)")
        let lines = compared.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "metric                      old        new     change")
        func number(_ name: String, _ path: [String]) throws -> Double {
            var value: Any? = try JSONSerialization.jsonObject(with: Data(try work.read(name).utf8))
            for key in path { value = (value as? [String: Any])?[key] ?? (value as? [Any]).map { $0[Int(key)!] } }
            return (value as! NSNumber).doubleValue
        }
        for (label, path) in [("recall (fake)", ["1", "recall"]), ("false positives", ["confusion_matrix", "0", "1"]), ("threshold", ["threshold"])] {
            let old = try number("old.json", path), new = try number("test-metrics.json", path)
            let row = lines.first { $0.hasPrefix(label + " ") }?.split(separator: " ").suffix(3).map { Double($0)! }
            #expect(row.map { abs($0[0] - old) < 5e-5 && abs($0[1] - new) < 5e-5 && abs($0[2] - (new - old)) < 1e-4 } == true, "\(label): \(String(describing: row))")
        }
        // The page shows them too, each number tagged with its file; without a baseline it does not.
        let html = try work.read("compared.html")
        let sources: [String: JSONValue] = ["test": try ReportEndToEnd.json(work, "test-metrics.json"), "model": try ReportEndToEnd.json(work, "model.json"),
                                      "baseline": try ReportEndToEnd.json(work, "old.json")]
        #expect(ReportEndToEnd.checkFigures(html, sources) > 20)
        #expect(ReportEndToEnd.figures(html).filter { $0.source == "baseline" }.count == lines.count - 1)
        #expect(html.contains("data-computed=\"change/confusion_matrix/0/1\" data-value=\"\(Int(try number("test-metrics.json", ["confusion_matrix", "0", "1"]) - (try number("old.json", ["confusion_matrix", "0", "1"]))))\""))
        #expect(try work.run("fu-report", arguments + ["-o", "plain.html"]).status == 0)
        #expect(!(try work.read("plain.html")).contains("id=\"baseline\""))
        // A file that is not metrics: exit 65, the previous page kept.
        let bad = try work.run("fu-report", arguments + ["--baseline", "cv.json", "-o", "compared.html"])
        #expect(bad.status == 65)
        #expect(bad.stderr == "fu-report: error: the baseline has none of the metrics compared (precision, recall, roc_auc, …): give fu-score's --metrics file or train.sh's metrics file (cv.json)\n")
        #expect(try work.read("compared.html") == html)
    }

    @Test func theDateIsSourceDateEpochOrLeftOut() throws {
        let work = try Workdir()
        #expect(try ReportEndToEnd.pipeline(work, reportArguments: ["--no-date"]).status == 0)
        let first = try work.read("report.html")
        let arguments = ["-m", "model.json", "--predictions", "predictions.csv", "--truth", "test.csv", "--metrics", "test-metrics.json",
                         "--cv", "cv.json", "--oof", "oof.csv", "-o", "again.html"]
        #expect(try work.run("fu-report", arguments + ["--no-date"]).status == 0)
        #expect(try work.read("again.html") == first)
        #expect(try work.run("fu-report", arguments, environment: ["SOURCE_DATE_EPOCH": "1700000000"]).status == 0)
        #expect(try work.read("again.html").contains("made 2023-11-14 22:13 UTC"))
    }

    // MARK: In a browser

    /// Chromium's rendering of a page (`--dump-dom`, after its script ran) and its console.
    static func openInBrowser(_ work: Workdir, _ page: String) throws -> (dom: String, console: [String]) {
        let chromium = ["chromium", "chromium-browser", "google-chrome"].first { name in
            (try? work.shell("command -v \(name)").status) == 0
        }
        guard let chromium else {
            throw BrowserMissing()
        }
        let result = try work.shell("""
            timeout 120 \(chromium) --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir="$PWD/.chromium" \
                --enable-logging=stderr --v=0 --dump-dom "file://$PWD/\(page)"
            """)
        #expect(result.status == 0, "\(result.stderr)")
        let console = result.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return (result.stdout, console)
    }

    struct BrowserMissing: Error, CustomStringConvertible {
        var description: String { "no chromium: install it (apt-get install chromium; .ci/run does)" }
    }

    /// chart → series → points the browser drew, from the page script's `data-drawn`.
    static func drawn(_ dom: String) -> [String: [String: String]] {
        let pattern = try! NSRegularExpression(pattern: #"data-chart="([a-z]+)"[^>]*data-drawn="([^"]*)""#)
        let text = dom as NSString
        var charts: [String: [String: String]] = [:]
        for match in pattern.matches(in: dom, range: NSRange(location: 0, length: text.length)) {
            var series: [String: String] = [:]
            for part in text.substring(with: match.range(at: 2)).split(separator: " ") {
                let fields = part.split(separator: ":", maxSplits: 1)
                series[String(fields[0])] = String(fields[1])
            }
            charts[text.substring(with: match.range(at: 1))] = series
        }
        return charts
    }

    @Test func theReportRendersInChromium() throws {
        let work = try Workdir()
        // With its own metrics as the baseline: the comparison card renders too.
        #expect(try ReportEndToEnd.pipeline(work, reportArguments: ["--baseline", "test-metrics.json"]).status == 0)
        #expect(try work.read("report.html").contains("<section class=\"card\" id=\"baseline\">"))
        let (dom, console) = try ReportEndToEnd.openInBrowser(work, "report.html")
        #expect(console.isEmpty, "console: \(console)")
        #expect(dom.contains("data-charts-checked=\"5\""), "the page's script did not run to its end")

        // Each chart with the points it should have: every distinct threshold up to 500.
        func rows(_ name: String) throws -> Int { csvRows(try work.read(name)).count - 1 }
        let oof = EvaluationCurves(try ScoredUsers.readOutOfFold(work.path("oof.csv")))
        let limit = EvaluationReport.pointLimit
        let sweep = min(try rows("curves/threshold.csv"), limit)
        let expected: [String: [String: String]] = [
            "roc": ["test": "\(min(try rows("curves/roc.csv"), limit))", "oof": "\(min(oof.roc.rows.count, limit))"],
            "pr": ["test": "\(min(try rows("curves/pr.csv"), limit))", "oof": "\(min(oof.precisionRecall.rows.count, limit))"],
            "calibration": ["test": "\(try rows("curves/calibration.csv"))", "oof": "\(oof.calibration.rows.count)"],
            "threshold": ["precision": "\(sweep)", "recall": "\(sweep)", "f1": "\(sweep)", "flagged": "\(sweep)", "chosen": "4"],
            "folds": ["f1": "5"],
        ]
        #expect(ReportEndToEnd.drawn(dom) == expected)
        #expect(dom.contains("The model's threshold: default."))
        #expect(oof.roc.rows.count > limit)  // the out-of-fold curves are drawn downsampled

        // The numbers as the browser has them equal the files.
        let sources: [String: JSONValue] = ["test": try ReportEndToEnd.json(work, "test-metrics.json"), "cv": try ReportEndToEnd.json(work, "cv.json"),
                                      "model": try ReportEndToEnd.json(work, "model.json"), "baseline": try ReportEndToEnd.json(work, "test-metrics.json")]
        #expect(ReportEndToEnd.checkFigures(dom, sources) == ReportEndToEnd.figures(try work.read("report.html")).count)
        #expect(ReportEndToEnd.figures(dom).count > 100)

        // Issue 19: the features' meanings, means by class (checked above with the model's
        // numbers) and correlated pairs; the test users the model got wrong with reasons.
        #expect(dom.contains("<small class=\"meaning\">events per distinct category (total_events / unique_categories)</small>"))
        let pairs = try ReportEndToEnd.json(work, "model.json")["feature_summary"]?["correlated"]?.arrayValue?.count ?? -1
        #expect(pairs > 0 && dom.components(separatedBy: "<li><code>").count - 1 == pairs)
        let metrics = try ReportEndToEnd.json(work, "test-metrics.json")
        let threshold = metrics["threshold"]?.doubleValue ?? -1
        let predicted = Dictionary(uniqueKeysWithValues: csvRows(try work.read("predictions.csv")).dropFirst().map { ($0[0], Double($0[2])!) })
        for (table, confusionKey, flagged) in [("false-positives", "0/1", true), ("false-negatives", "1/0", false)] {
            let count = Int(ReportEndToEnd.lookup(metrics, "confusion_matrix/\(confusionKey)") ?? -1)
            let listed = try Regex(#"data-computed="\#(table)/([^"]+)" data-value="([^"]+)""#)
            let rows = dom.matches(of: listed).map { (String($0.output[1].substring!), Double($0.output[2].substring!)!) }
            #expect(rows.count == min(count, EvaluationReport.mistakesShown), "\(table)")
            for (user, probability) in rows {
                #expect(predicted[user] == probability)
                #expect((probability >= threshold) == flagged)
            }
        }
        #expect(dom.contains("<td class=\"why\"><code>"), "the mistakes have their reasons")
    }

    /// train.sh's metrics file with the test users' events replayed: the early-detection
    /// card draws both curves for the policy and for the threshold alone, and its numbers
    /// are the replay summaries'.
    @Test func theEarlyDetectionCurvesRenderInChromium() throws {
        let work = try Workdir()
        let steps = """
            set -e
            fu-synth --users 1500 --seed 4 -o events.csv
            fu-featurize events.csv -o features.csv
            fu-split --seed 42 --test test.csv features.csv -o train.csv
            fu-split --seed 42 --test test-events.csv --drop-label --truth truth.csv events.csv -o train-events.csv
            fu-fit --policy-events train-events.csv train.csv -o model.json
            fu-score -m model.json --metrics test-metrics.json test.csv -o predictions.csv
            fu-watch -m model.json --truth truth.csv --summary early.json test-events.csv -o /dev/null
            fu-watch -m model.json --min-events 1 --truth truth.csv --summary plain.json test-events.csv -o /dev/null
            jq -n --slurpfile t test-metrics.json --slurpfile e early.json --slurpfile p plain.json \
                '{test_metrics: $t[0], early_detection: $e[0].early_detection, early_detection_without_policy: $p[0].early_detection}' > metrics.json
            fu-report -m model.json --predictions predictions.csv --truth test.csv --metrics metrics.json -o report.html
            """
        let built = try work.shell(steps)
        #expect(built.status == 0, "\(built.stderr)")
        let (dom, console) = try ReportEndToEnd.openInBrowser(work, "report.html")
        #expect(console.isEmpty, "console: \(console)")
        #expect(dom.contains("data-charts-checked=\"5\""), "the page's script did not run to its end")
        let points = "\(EarlyDetection.curveLength)"
        #expect(ReportEndToEnd.drawn(dom)["early"] == ["fakescaught": points, "realeverflagged": points, "fakescaughtplain": points, "realeverflaggedplain": points])
        let metrics = try ReportEndToEnd.json(work, "metrics.json")
        let sources: [String: JSONValue] = ["test": metrics["test_metrics"]!, "model": try ReportEndToEnd.json(work, "model.json"),
                                            "early": metrics["early_detection"]!, "earlyplain": metrics["early_detection_without_policy"]!]
        #expect(ReportEndToEnd.checkFigures(dom, sources) == ReportEndToEnd.figures(try work.read("report.html")).count)
        #expect(ReportEndToEnd.figures(dom).count { $0.source.hasPrefix("early") } == 12)
    }

    /// A threshold chosen by review capacity or by cost, with decision bands: the decision
    /// card draws the rule's measure on the out-of-fold and the test scores with the model's
    /// threshold marked, and counts the test users in each band as fu-score decides them.
    @Test(arguments: ["capacity:0.05", "cost:fp=1,fn=10"])
    func theDecisionCardRendersInChromium(_ rule: String) throws {
        let work = try Workdir()
        #expect(try ReportEndToEnd.pipeline(work).status == 0)
        let built = try work.shell("""
            set -e
            fu-fit --threshold \(rule) --bands capacity=0.03,precision=0.9 -i train.csv -o model.json
            fu-score -m model.json --metrics test-metrics.json -i test.csv -o predictions.csv
            fu-report -m model.json --predictions predictions.csv --truth test.csv --metrics test-metrics.json \\
                --cv cv.json --oof oof.csv --curves-dir curves -o report.html
            """)
        #expect(built.status == 0, "\(built.stderr)")
        let (dom, console) = try ReportEndToEnd.openInBrowser(work, "report.html")
        #expect(console.isEmpty, "console: \(console)")
        #expect(dom.contains("data-charts-checked=\"6\""), "the page's script did not run to its end")
        let limit = EvaluationReport.pointLimit
        let oof = EvaluationCurves(try ScoredUsers.readOutOfFold(work.path("oof.csv")))
        let sweep = csvRows(try work.read("curves/threshold.csv")).count - 1
        let chart = rule.hasPrefix("capacity") ? "capacity" : "cost"
        var expected = ["oof": "\(min(oof.threshold.rows.count, limit))", "test": "\(min(sweep, limit))", "chosen": "2"]
        if chart == "capacity" { expected["limit"] = "2" }
        #expect(ReportEndToEnd.drawn(dom)[chart] == expected)
        let sources: [String: JSONValue] = ["test": try ReportEndToEnd.json(work, "test-metrics.json"), "cv": try ReportEndToEnd.json(work, "cv.json"),
                                            "model": try ReportEndToEnd.json(work, "model.json")]
        #expect(ReportEndToEnd.checkFigures(dom, sources) == ReportEndToEnd.figures(try work.read("report.html")).count)
        #expect(ReportEndToEnd.figures(dom).count { $0.key.hasPrefix("decision_bands/") } >= 9)
        let decisions = csvRows(try work.read("predictions.csv")).dropFirst().map { $0[3] }
        for decision in ["block", "review", "allow"] {
            let shown = try Regex(#"data-computed="bands/\#(decision)/users" data-value="([0-9]+)""#)
            #expect(dom.firstMatch(of: shown).map { Int($0.output[1].substring!)! } == decisions.count { $0 == decision }, "\(decision)")
        }
    }

    /// The check above would see a broken page: a console error is reported, a failed
    /// script leaves no `data-charts-checked`.
    @Test func theBrowserCheckSeesAScriptError() throws {
        let work = try Workdir()
        try work.write("broken.html", "<!DOCTYPE html><html><body><p>x</p><script>null.points.length;</script></body></html>\n")
        let (dom, console) = try ReportEndToEnd.openInBrowser(work, "broken.html")
        #expect(console.count == 1 && console[0].contains("Uncaught TypeError"), "\(console)")
        #expect(!dom.contains("data-charts-checked"))
    }
}
