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

/// fu-fit's work: a model from all rows of a labelled table, with its threshold chosen;
/// also the folds of `auto`, whose solver facts the tool reports.
public func fitModel(_ table: FeatureTable, labels: [UInt8], trainer: Trainer, threshold: ThresholdChoice) throws -> (model: Model, folds: [FoldResult]) {
    var foldResults: [FoldResult] = []
    var model = try trainer.train(table, labels: labels, selection: nil)
    switch threshold {
    case .fixed(let value):
        model.threshold = value
        model.training.thresholdSource = value == 0.5 ? "default" : "fixed"
    case .auto(let folds, let seed):
        let validation = try CrossValidation(table: table, labels: labels, folds: folds, seed: seed, trainer: trainer)
        model.threshold = validation.bestThreshold.threshold
        model.training.thresholdSource = "auto (\(folds)-fold out-of-fold F1 \(validation.bestThreshold.f1))"
        model.training.folds = folds
        model.training.seed = seed
        foldResults = validation.folds
    }
    // Never hand out a model that fu's own loader would refuse.
    do {
        _ = try Model.parse(Array(model.json.rendered().utf8), name: "the fitted model")
    } catch let error as ToolError {
        throw ToolError(.software, "\(error.message); not written")
    }
    return (model, foldResults)
}
