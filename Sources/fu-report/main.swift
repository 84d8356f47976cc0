import ArgumentParser
import FakeUserKit
import Logging

struct Report: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-report",
        abstract: "Write an evaluation report: one self-contained HTML page (inline SVG charts) and the curves as CSV.",
        discussion: """
            Reads the model, the scored test users with their truth, and optionally fu-cv's \
            output and out-of-fold predictions. The page needs no network: ROC and \
            precision-recall curves, reliability diagram, precision/recall/F1 by threshold, \
            confusion matrix, F1 per fold, coefficients and odds ratios, data and provenance.

            The date shown is SOURCE_DATE_EPOCH's when set, else the time of the run; \
            --no-date leaves it out, so the same inputs give the same bytes.

            Examples:
              fu-report -m model.json --predictions predictions.csv \\
                  --truth test.csv -o report.html
              fu-report -m model.json --predictions predictions.csv --truth test.csv \\
                  --metrics test-metrics.json --cv cv.json --oof oof.csv \\
                  --curves-dir curves -o report.html
              fu-report -m model.json --predictions predictions.csv --truth test.csv \\
                  --baseline last-metrics.json -o report.html
            """,
        version: fuVersion)

    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var logging: LoggingOptions

    @Option(name: [.short, .long], help: ArgumentHelp("The model file (from fu-fit).", valueName: "file"), completion: .file())
    var model: String

    @Option(help: ArgumentHelp("fu-score's predictions of the test users (UserId, Probability).", valueName: "file"), completion: .file())
    var predictions: String

    @Option(help: ArgumentHelp("The test users' truth: any table with UserId and Fake (fu-split --truth, or the scored features).", valueName: "file"), completion: .file())
    var truth: String

    @Option(help: ArgumentHelp("fu-score's --metrics file, or train.sh's metrics file (default: computed at the model's threshold).", valueName: "file"), completion: .file())
    var metrics: String?

    @Option(help: ArgumentHelp("fu-cv's output.", valueName: "file"), completion: .file())
    var cv: String?

    @Option(help: ArgumentHelp("fu-cv's out-of-fold predictions (--oof).", valueName: "file"), completion: .file())
    var oof: String?

    @Option(help: ArgumentHelp("Also write roc.csv, pr.csv, calibration.csv and threshold.csv into DIR (made if missing).", valueName: "dir"), completion: .directory)
    var curvesDir: String?

    @Option(help: ArgumentHelp("A digest of the input data, shown as its provenance (e.g. sha256:…).", valueName: "text"))
    var inputDigest: String?

    @Option(help: ArgumentHelp("The input data's name (its path), shown beside its digest.", valueName: "text"))
    var inputName: String?

    @Option(help: ArgumentHelp("A previous run's metrics file (fu-score --metrics, or train.sh's): show each test metric's old value, new value and change: in the page, and on stderr.", valueName: "file"))
    var baseline: String?

    @Flag(help: "Leave the date out of the report.")
    var noDate = false

    func execute(logger: Logger) throws {
        var inputs = try ReportInputs.load(
            model: model, predictions: predictions, truth: truth, metrics: metrics, crossValidation: cv, outOfFold: oof,
            inputDigest: inputDigest, date: noDate ? nil : reportDate())
        inputs.inputName = inputName
        inputs.baseline = try baseline.map(MetricsComparison.baseline)
        let comparison = inputs.baseline.map { MetricsComparison(old: $0, new: inputs.testMetrics) }
        let report = EvaluationReport(inputs)
        let output = try outputOptions.openOutput()
        try output.write(report.html)
        var outputs: [ByteOutput?] = [output]
        if let curvesDir {
            try makeDirectory(curvesDir, what: "curves folder")
            for (name, table) in report.test.files {
                let file = try ByteOutput(path: curvesDir + "/" + name, compress: false)
                outputs.append(file)
                try table.write(to: file)
            }
        }
        // Together, and only now: a failed run leaves the previous files as they were.
        try ByteOutput.commit(outputs)
        // On stderr: stdout may be the page.
        if let comparison { writeToStandardError(comparison.text) }
        logger.info("report written", metadata: ["users": "\(inputs.test.count)", "threshold": "\(inputs.threshold)"])
    }
}

ToolMain.run(Report.self)
