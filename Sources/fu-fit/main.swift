import ArgumentParser
import FakeUserKit
import Logging

struct Fit: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-fit",
        abstract: "Train logistic regression (L2, balanced class weights) on labelled features; write the model JSON.",
        discussion: """
            The scaler is fitted on these rows only and stored in the model with the \
            coefficients, intercept, threshold and training facts.

            Examples:
              fu-fit train.csv -o model.json
              fu-fit -c 0.1 --threshold auto --metrics train-metrics.json \\
                -o tuned-model.json train.csv
              fu-fit --calibrate sigmoid --folds 5 --seed 42 -o calibrated.json train.csv
              fu-fit --threshold capacity:0.05 -o model.json train.csv
              fu-fit --threshold cost:fp=1,fn=10 -o model.json train.csv
              fu-fit --bands capacity=0.02,precision=0.95 -o model.json train.csv
              fu-featurize train-events.csv | fu-fit -o policy.json \\
                --policy-events train-events.csv

            --policy-events adds a stream policy for fu-watch: the minimum number of events \
            and the thresholds by events seen that catch fakes soonest while the real users \
            ever flagged stay within --policy-bound, chosen by replaying the training users' \
            events through the fold models that did not see them (--folds, --seed).

            --bands adds allow/review/block bands, chosen on out-of-fold scores: block \
            where the precision reaches P, review at most a share R of users below that. \
            fu-score, fu-watch and fu-serve then write a Decision column.
            """,
        version: fuVersion)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var learning: LearningOptions
    @OptionGroup var foldOptions: FoldOptions

    @Option(help: ArgumentHelp(
        "Decision threshold: a probability; or chosen on k-fold out-of-fold predictions: 'auto' (best F1), 'capacity:R' (flag at most a share R of users), 'cost:fp=A,fn=B' (least A·FP + B·FN).",
        valueName: "x|auto|capacity:R|cost:fp=A,fn=B"))
    var threshold = "0.5"

    @Option(help: ArgumentHelp(
        "Allow/review/block bands on k-fold out-of-fold predictions: block where precision reaches P, review at most a share R of users below.",
        valueName: "capacity=R,precision=P"))
    var bands: String?

    @Option(help: ArgumentHelp("Also write the training-set metrics JSON here.", valueName: "file"), completion: .file())
    var metrics: String?

    @Option(help: ArgumentHelp(
        "Calibrate probabilities: 'sigmoid' fits Platt scaling on k-fold out-of-fold decision values (--folds, --seed) and stores it in the model.",
        valueName: "none|sigmoid"), completion: .list(["none", "sigmoid"]))
    var calibrate = "none"

    @Option(help: ArgumentHelp(
        "The training users' events (those of the features' users, in arrival order): choose a stream policy for fu-watch out of fold and store it in the model.",
        valueName: "file"))
    var policyEvents: String?

    @Option(help: ArgumentHelp(
        "Real training users the policy may ever flag: 'batch' (as many as the model flags on their whole histories, out of fold) or a share of them.",
        valueName: "batch|x"))
    var policyBound = "batch"

    func validate() throws {
        do { _ = try ThresholdChoice(parsing: threshold, folds: foldOptions.folds, seed: foldOptions.seed) } catch let error as ToolError {
            throw ValidationError(error.message)
        }
        guard CalibrationChoice(rawValue: calibrate) != nil else {
            throw ValidationError("--calibrate must be 'none' or 'sigmoid', not '\(calibrate)'")
        }
        do { _ = try PolicyBound(parsing: policyBound) } catch let error as ToolError { throw ValidationError(error.message) }
        do { _ = try bands.map(BandRule.init(parsing:)) } catch let error as ToolError { throw ValidationError(error.message) }
        if policyBound != "batch" && policyEvents == nil { throw ValidationError("--policy-bound needs --policy-events FILE") }
        if policyEvents == "-" && inputOptions.path == nil {
            throw ValidationError("--policy-events - and the features would both read stdin: name a file for one of them")
        }
    }

    func execute(logger: Logger) throws {
        let reader = try inputOptions.openTable()
        let progress = Progress.forTerminal(tool: "fu-fit")
        reader.progress = progress
        var totals: String?
        defer { progress?.finish(totals) }
        let table = try FeatureTable.read(reader, features: learning.featureNames)
        totals = "\(groupedDigits(table.rowCount)) users"
        let labels = try table.requireLabels(reader.location(line: 1))
        let choice = try ThresholdChoice(parsing: threshold, folds: foldOptions.folds, seed: foldOptions.seed)
        let policy = try policyEvents.map { PolicyRequest(events: try TableReader(ByteInput(path: $0)), bound: try PolicyBound(parsing: policyBound)) }
        let (model, folds) = try fitModel(
            table, labels: labels, trainer: learning.trainer, threshold: choice,
            calibration: CalibrationChoice(rawValue: calibrate) ?? .none, bands: try bands.map(BandRule.init(parsing:)), policy: policy, folds: foldOptions.folds, seed: foldOptions.seed,
            progress: progress)
        let fitFacts = model.training
        logger.reportSolver("the fit", converged: fitFacts.converged, iterations: fitFacts.iterations, gradientNorm: fitFacts.gradientNorm, stopReason: fitFacts.stopReason)
        for fold in folds {
            logger.reportSolver("fold \(fold.fold) of the threshold search", converged: fold.converged, iterations: fold.iterations, gradientNorm: fold.gradientNorm, stopReason: fold.stopReason)
        }
        let output = try outputOptions.openOutput()
        try output.write(model.json.rendered())
        var file: ByteOutput?
        if let metrics {
            let report = Metrics(labels: labels, probabilities: model.probabilities(table), threshold: model.threshold)
            let side = try outputOptions.open(metrics)
            file = side
            try side.write(report.json.rendered())
        }
        // Together, and only now: a failed run leaves the previous files as they were.
        try ByteOutput.commit([file, output])
        logger.reportSkipped(reader.skippedRows, input: reader.name)
        let facts = model.training
        var lines = [
            "fitted on \(groupedDigits(facts.rows)) users (\(groupedDigits(facts.positives)) fake), \(table.featureCount) features, "
                + "\(facts.iterations) iterations, \(facts.converged ? "converged" : "NOT converged"); threshold \(briefNumber(model.threshold))",
        ]
        if let calibration = model.calibration, let folds = facts.folds {
            lines.append("probabilities calibrated (Platt sigmoid on \(folds)-fold out-of-fold scores): a \(threeDecimals(calibration.a)), b \(threeDecimals(calibration.b))")
        }
        if let bands = model.decisionBands, case .object(let facts)? = bands.chosenOn {
            let fact = Dictionary(facts, uniquingKeysWith: { a, _ in a })
            func count(_ key: String) -> String { groupedDigits(fact[key]?.intValue ?? 0) }
            let block = bands.block.map { "block from \(briefNumber($0)) (\(count("blocked")) users, \(count("blocked_fakes")) fake)" } ?? "block no one (no threshold reaches the precision)"
            let review = bands.review.map { "review from \(briefNumber($0)) (\(count("reviewed")) users, \(count("reviewed_fakes")) fake)" } ?? "review no one"
            lines.append("bands, out of fold: \(block), \(review)")
        }
        if let policy = model.streamPolicy, case .object(let facts)? = policy.chosenOn {
            let fact = Dictionary(facts, uniquingKeysWith: { a, _ in a })
            let bands = policy.bands.map { "from \($0.from) events at \($0.threshold)" }.joined(separator: ", ")
            lines.append("stream policy: \(bands); out of fold, real users ever flagged \(fact["real_ever_flagged"]?.intValue ?? 0) "
                + "(batch \(fact["real_flagged_batch"]?.intValue ?? 0)), fakes caught \(fact["fakes_caught"]?.intValue ?? 0) of \(fact["fakes"]?.intValue ?? 0)")
        }
        progress?.finish(totals)  // the totals line before the summary
        summarizeOnTerminal(tool: "fu-fit", lines)
        logger.info("fitted", metadata: [
            "rows": "\(table.rowCount)", "features": "\(table.featureCount)", "iterations": "\(model.training.iterations)",
            "stop_reason": "\(model.training.stopReason?.rawValue ?? "unknown")",
            "threshold": "\(model.threshold)",
        ])
    }
}

ToolMain.run(Fit.self)
