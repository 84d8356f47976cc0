/// How fu-fit sets the model's decision threshold.
public enum ThresholdChoice: Sendable, Equatable {
    case fixed(Double)
    /// The F1-optimal threshold over out-of-fold probabilities of stratified k-fold.
    case auto(folds: Int, seed: UInt64)

    /// Parses `0.37` or `auto`.
    public init(parsing text: String, folds: Int, seed: UInt64) throws {
        if text == "auto" {
            self = .auto(folds: folds, seed: seed)
        } else if let value = Double(text), (0...1).contains(value) {
            self = .fixed(value)
        } else {
            throw ToolError.usage("--threshold must be a probability between 0 and 1, or 'auto'")
        }
    }
}

/// fu-fit's `--calibrate`: Platt's sigmoid fitted on the out-of-fold decision values of
/// stratified k-fold (the folds `--threshold auto` uses), or none.
public enum CalibrationChoice: String, Sendable, CaseIterable {
    case none
    case sigmoid
}

/// fu-fit's work: a model from all rows of a labelled table, with its threshold chosen and,
/// when asked, its probabilities calibrated and its stream policy chosen. All use one
/// k-fold run (`folds`, `seed`), whose folds are returned too, for the tool to report their
/// solver facts. `progress` counts the models fitted (the model, then each fold's).
public func fitModel(
    _ table: FeatureTable, labels: [UInt8], trainer: Trainer, threshold: ThresholdChoice,
    calibration: CalibrationChoice = .none, policy: PolicyRequest? = nil, folds: Int = 5, seed: UInt64 = 42, progress: Progress? = nil
) throws -> (model: Model, folds: [FoldResult]) {
    var k = folds, foldSeed = seed
    if case .auto(let autoFolds, let autoSeed) = threshold { (k, foldSeed) = (autoFolds, autoSeed) }
    let needsFolds = calibration == .sigmoid || !isFixed(threshold) || policy != nil
    let counter = StepCounter(progress, "models fitted", total: 1 + (needsFolds ? k : 0))
    var model = try trainer.train(table, labels: labels, selection: nil)
    counter.advance()
    var validation: CrossValidation?
    if needsFolds {
        validation = try CrossValidation(table: table, labels: labels, folds: k, seed: foldSeed, trainer: trainer, counter: counter)
        model.training.folds = k
        model.training.seed = foldSeed
    }
    if calibration == .sigmoid, let validation {
        model.calibration = Calibration.fitSigmoid(decisions: validation.decisionValues, labels: labels)
    }
    switch threshold {
    case .fixed(let value):
        model.threshold = value
        model.training.thresholdSource = value == 0.5 ? "default" : "fixed"
    case .auto(let folds, _):
        // On the probabilities the model will give: calibrated ones when calibrated.
        let scores = validation!.decisionValues.map(model.probability(decision:))
        let best = bestF1Threshold(labels: labels, scores: scores)
        model.threshold = best.threshold
        model.training.thresholdSource = "auto (\(folds)-fold out-of-fold F1 \(best.f1))"
    }
    // Last: on the probabilities and threshold the model will have.
    if let policy, let validation {
        let levels = try PolicySearch.replayOutOfFold(
            events: policy.events, table: table, labels: labels, foldOfRow: validation.foldOfRow, foldModels: validation.models,
            model: model, grid: PolicySearch.thresholdGrid(modelThreshold: model.threshold))
        model.streamPolicy = try PolicySearch.choose(levels, model: model, bound: policy.bound, folds: k, seed: foldSeed)
    }
    // Never hand out a model that fu's own loader would refuse.
    do {
        _ = try Model.parse(Array(model.json.rendered().utf8), name: "the fitted model")
    } catch let error as ToolError {
        throw ToolError(.software, "\(error.message); not written")
    }
    return (model, validation?.folds ?? [])
}

private func isFixed(_ choice: ThresholdChoice) -> Bool {
    if case .fixed = choice { return true }
    return false
}
