import ArgumentParser
import FakeUserKit
import Logging

struct CrossValidate: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-cv",
        abstract: "Stratified k-fold cross-validation of the model on labelled features; write metrics JSON.",
        discussion: """
            Each fold gets a fresh scaler and model fitted on the other folds' rows. Folds \
            run in parallel; the output is the same as a serial run.

            Examples:
              fu-cv --folds 5 train.csv > cv.json
              fu-cv --seed 7 --oof oof.csv -o cv.json train.csv
            """,
        version: fuVersion)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var outputOptions: OutputOptions
    // Not FormatOption: the metrics are JSON; only the --oof table has a format.
    @Option(help: "Format of the --oof table: csv or jsonl.")
    var format: TableFormat = .csv
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var learning: LearningOptions
    @OptionGroup var foldOptions: FoldOptions

    @Option(help: ArgumentHelp("Also write out-of-fold predictions (UserId,Fake,Probability,fold; Fake is the true label).", valueName: "file"), completion: .file())
    var oof: String?

    func execute(logger: Logger) throws {
        let reader = try inputOptions.openTable()
        let progress = Progress.forTerminal(tool: "fu-cv")
        reader.progress = progress
        var totals: String?
        defer { progress?.finish(totals) }
        let table = try FeatureTable.read(reader, features: learning.featureNames)
        totals = "\(groupedDigits(table.rowCount)) users, \(foldOptions.folds) folds"
        let labels = try table.requireLabels(reader.location(line: 1))
        let validation: CrossValidation
        do {
            validation = try CrossValidation(table: table, labels: labels, folds: foldOptions.folds, seed: foldOptions.seed, trainer: learning.trainer,
                                             counter: StepCounter(progress, "folds fitted", total: foldOptions.folds))
        } catch let error as ToolError where error.location == nil {
            throw ToolError(error.status, error.message, at: reader.location())
        }
        let output = try outputOptions.openOutput()
        try output.write(validation.json(trainer: learning.trainer, table: table, labels: labels).rendered())
        var file: ByteOutput?
        if let oof {
            let side = try outputOptions.open(oof)
            file = side
            let writer = try TableWriter(side, format: format, columns: ["UserId", "Fake", "Probability", "fold"])
            for row in 0..<table.rowCount {
                try writer.field(table.ids[row])
                try writer.field(Int(labels[row]))
                try writer.field(validation.probabilities[row])
                try writer.field(validation.foldOfRow[row])
                try writer.endRow()
            }
        }
        // Together, and only now: a failed run leaves the previous files as they were.
        try ByteOutput.commit([file, output])
        logger.reportSkipped(reader.skippedRows, input: reader.name)
        for fold in validation.folds.map(\.fit) {
            logger.reportSolver("fold \(fold.fold)", converged: fold.converged, iterations: fold.iterations, gradientNorm: fold.gradientNorm, stopReason: fold.stopReason)
        }
        let f1 = validation.folds.map { $0.metrics.positive.f1 }
        let meanF1 = f1.reduce(0, +) / Double(f1.count)
        logger.info("cross-validated", metadata: ["folds": "\(foldOptions.folds)", "mean_f1": "\(meanF1)"])
        let spread = (f1.map { ($0 - meanF1) * ($0 - meanF1) }.reduce(0, +) / Double(f1.count)).squareRoot()
        progress?.finish(totals)  // the totals line before the summary
        summarizeOnTerminal(tool: "fu-cv", [
            "\(foldOptions.folds)-fold CV F1 \(threeDecimals(meanF1)) ± \(threeDecimals(spread)), "
                + "AUC \(threeDecimals(validation.outOfFold.rocAUC)) (\(groupedDigits(table.rowCount)) users)",
        ])
    }
}

ToolMain.run(CrossValidate.self)
