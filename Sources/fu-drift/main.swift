import ArgumentParser
import FakeUserKit
import Logging

struct Drift: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-drift",
        abstract: "Population stability of each feature against the model's training data: a PSI table, JSON with -o.",
        discussion: """
            Bins are cut at the training values' deciles (kept in the model by fu-fit); \
            PSI = sum of (new - train) * ln(new / train) over the bins, shares floored at \
            1e-4. Overall is the mean over the features not constant in training. Below \
            0.1 is stable, from 0.1 a moderate shift, from 0.25 a significant one. The \
            table goes to stdout; -o FILE also writes the JSON there, -o - writes the JSON \
            alone on stdout. With --fail-above X the exit status is 1 when a feature's \
            PSI is above X, after the outputs are written.

            Examples:
              fu-drift -m model.json new.csv
              fu-featurize today.csv.zst | fu-drift -m model.json -o drift.json
              fu-drift -m model.json --fail-above 0.25 new.csv.zst
              fu-drift -m model.json monday.csv.zst tuesday.csv.zst
            """,
        version: fuVersion)

    @Argument(help: ArgumentHelp("Feature tables, plain or zstd, read as one population (or directories of them); none or '-' reads stdin.", valueName: "file"), completion: .file())
    var files: [String] = []

    @Flag(help: "Skip malformed rows, count them and report the count on stderr.")
    var skipBadRows = false

    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var modelOption: ModelOption

    @Option(help: ArgumentHelp("Exit with status 1 when a feature's PSI is above X.", valueName: "x"))
    var failAbove: Double?

    func validate() throws {
        if let failAbove, !(failAbove >= 0 && failAbove.isFinite) { throw ValidationError("--fail-above must be a PSI of 0 or more") }
    }

    func execute(logger: Logger) throws {
        let paths = try expandInputs(files)
        let model = try modelOption.load()
        _ = try model.requireTrainingDistribution()
        let (table, missing, skipped) = try readPopulation(paths, model: model, skipBadRows: skipBadRows)
        let report: DriftReport
        do { report = try DriftReport(model: model, table: table, missing: missing) } catch var error as ToolError {
            error.location = error.location ?? InputLocation(file: paths.map { $0 == "-" ? "stdin" : $0 }.joined(separator: ", "))
            throw error
        }
        // Without -o the table is the output; with -o FILE the JSON goes there and the
        // table still to stdout; `-o -` is the JSON alone on stdout.
        var outputs: [ByteOutput] = []
        if outputOptions.output != nil {
            let json = try outputOptions.openOutput()
            try json.write(report.json.rendered())
            outputs.append(json)
        }
        if outputOptions.output != "-" {
            let terminal = try ByteOutput(path: nil, compress: false)
            try terminal.write(report.text)
            outputs.append(terminal)
        }
        try ByteOutput.commit(outputs)
        logger.reportSkipped(skipped, input: paths.joined(separator: ", "))
        if let failAbove {
            let above = report.above(failAbove)
            if !above.isEmpty {
                let named = above.map { "\($0.feature) \(fixedDecimals($0.psi!, 4))" }.joined(separator: ", ")
                throw ToolError(.checkFailed, "PSI above \(failAbove) (--fail-above): \(named)")
            }
        }
    }
}

ToolMain.run(Drift.self)
