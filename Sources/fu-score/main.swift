import ArgumentParser
import FakeUserKit
import Logging

struct Score: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-score",
        abstract: "Predict with a model: features in, UserId,Fake,Probability out; metrics when labels are known.",
        discussion: """
            Columns are matched to the model by name. A per-event-type column missing from \
            the input reads as 0; extra columns are ignored; a missing core feature is an error.

            Examples:
              fu-score -m model.json test.csv > predictions.csv
              fu-featurize events.csv | fu-score -m model.json --format jsonl
              fu-score -m model.json --metrics test-metrics.json \\
                -o predictions.csv test.csv
              fu-score -m model.json --explain 3 test.csv
            """,
        version: fuVersion)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var formatOption: FormatOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var scoring: ScoringOptions

    @Option(help: ArgumentHelp("Write evaluation metrics here (the input must have Fake).", valueName: "file"), completion: .file())
    var metrics: String?

    func validate() throws {
        if metrics == "-" && [nil, "-"].contains(outputOptions.output) {
            throw ValidationError("--metrics - would write the metrics into the predictions on stdout; give the predictions -o FILE, or the metrics a file")
        }
    }

    func execute(logger: Logger) throws {
        try inputOptions.requireInput()
        let model = try scoring.loadModel()
        let (threshold, explain) = (scoring.threshold, scoring.explain)
        let reader = try inputOptions.openTable()
        let progress = Progress.forTerminal(tool: "fu-score")
        reader.progress = progress
        defer { progress?.finish() }  // on an error
        let match = try FeatureMatch(model: model, reader: reader)
        if !match.filledWithZero.isEmpty {
            logger.info("columns missing from the input read as 0", metadata: ["columns": "\(match.filledWithZero.joined(separator: ","))"])
        }
        if !match.ignored.isEmpty {
            logger.info("columns the model does not use are ignored", metadata: ["columns": "\(match.ignored.joined(separator: ","))"])
        }
        let table = try FeatureTable.read(reader, features: model.features, fillMissing: Set(match.filledWithZero))
        let probabilities = model.probabilities(table)
        let cut = threshold ?? model.threshold
        // The metrics file first: it is then finished even if stdout's reader goes away.
        var file: ByteOutput?
        var report: Metrics?
        if let metrics {
            let labels = try table.requireLabels(reader.location(line: 1))
            let side = try outputOptions.open(metrics)
            file = side
            report = Metrics(labels: labels, probabilities: probabilities, threshold: cut)
            try side.write(report!.json.rendered())
        }
        let output = try outputOptions.openOutput()
        let reasons = try explain.map { try Reasons(model: model, table: table, k: $0) }
        try writePredictions(
            ids: table.ids, probabilities: probabilities, threshold: cut, bands: model.decisionBands, to: output, format: formatOption.format,
            reasons: reasons)
        // Together, and only now: a failed run leaves the previous files as they were.
        try ByteOutput.commit([file, output])
        logger.reportSkipped(reader.skippedRows, input: reader.name)
        logger.info("scored", metadata: ["rows": "\(table.rowCount)", "threshold": "\(cut)"])
        var lines = ["scored \(groupedDigits(table.rowCount)) users: \(groupedDigits(probabilities.count { $0 >= cut })) fake at threshold \(briefNumber(cut))"]
        if let bands = model.decisionBands {
            let counts = Decision.allCases.map { decision in (decision, probabilities.count { bands.decision($0) == decision }) }
            lines.append(counts.reversed().map { "\($0.0.rawValue) \(groupedDigits($0.1))" }.joined(separator: ", "))
        }
        if let report {
            lines.append("F1 \(threeDecimals(report.positive.f1)), AUC \(threeDecimals(report.rocAUC)), Brier \(threeDecimals(report.brierScore))")
        }
        progress?.finish("\(groupedDigits(table.rowCount)) users")  // the totals line before the summary
        summarizeOnTerminal(tool: "fu-score", lines)
    }
}

ToolMain.run(Score.self)
