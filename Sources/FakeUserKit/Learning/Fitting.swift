/// How fu-fit sets the model's decision threshold.
public enum ThresholdChoice: Sendable, Equatable {
    case fixed(Double)
    /// The F1-optimal threshold over out-of-fold probabilities of stratified k-fold.
    case auto(folds: Int, seed: UInt64)
    /// Flag at most this share of users, on out-of-fold probabilities.
    case capacity(share: Double, folds: Int, seed: UInt64)
    /// The least expected cost on out-of-fold probabilities, a false positive costing
    /// `falsePositive` and a false negative `falseNegative`.
    case cost(falsePositive: Double, falseNegative: Double, folds: Int, seed: UInt64)

    /// Parses `0.37`, `auto`, `capacity:R` or `cost:fp=A,fn=B`.
    public init(parsing text: String, folds: Int, seed: UInt64) throws {
        let usage = ToolError.usage(
            "--threshold must be a probability between 0 and 1, 'auto', 'capacity:R' (a share of users in (0, 1]) or 'cost:fp=A,fn=B' (positive costs), not '\(text)'")
        if text == "auto" {
            self = .auto(folds: folds, seed: seed)
        } else if text.hasPrefix("capacity:") {
            guard let share = Double(text.dropFirst("capacity:".count)), share > 0, share <= 1 else { throw usage }
            self = .capacity(share: share, folds: folds, seed: seed)
        } else if text.hasPrefix("cost:") {
            var costs: [String: Double] = [:]
            for part in text.dropFirst("cost:".count).split(separator: ",", omittingEmptySubsequences: false) {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2, ["fp", "fn"].contains(pair[0]), costs[pair[0]] == nil,
                      let value = Double(pair[1]), value > 0, value.isFinite else { throw usage }
                costs[pair[0]] = value
            }
            guard let fp = costs["fp"], let fn = costs["fn"] else { throw usage }
            self = .cost(falsePositive: fp, falseNegative: fn, folds: folds, seed: seed)
        } else if let value = Double(text), (0...1).contains(value) {
            self = .fixed(value)
        } else {
            throw usage
        }
    }

    /// The k-fold run a threshold chosen on out-of-fold scores needs; nil for a fixed one.
    var folds: (k: Int, seed: UInt64)? {
        switch self {
        case .fixed: nil
        case .auto(let folds, let seed), .capacity(_, let folds, let seed), .cost(_, _, let folds, let seed): (folds, seed)
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
/// when asked, its probabilities calibrated, its decision bands and its stream policy chosen. All use one
/// k-fold run (`folds`, `seed`), whose folds are returned too, for the tool to report their
/// solver facts. `progress` counts the models fitted (the model, then each fold's).
public func fitModel(
    _ table: FeatureTable, labels: [UInt8], trainer: Trainer, threshold: ThresholdChoice,
    calibration: CalibrationChoice = .none, bands: BandRule? = nil, policy: PolicyRequest? = nil, folds: Int = 5, seed: UInt64 = 42,
    progress: Progress? = nil
) throws -> (model: Model, folds: [FoldFit]) {
    let (k, foldSeed) = threshold.folds ?? (folds, seed)
    let needsFolds = calibration == .sigmoid || threshold.folds != nil || bands != nil || policy != nil
    let counter = StepCounter(progress, "models fitted", total: 1 + (needsFolds ? k : 0))
    // The policy's events are read while the models are fitted: neither needs the other.
    let reading = policy.map { policy in BackgroundResult { try PolicyEvents(reading: policy.events, table: table, until: $0) } }
    defer { reading?.abandon() }  // after value(): nothing to do
    var model = try trainer.train(table, labels: labels, selection: nil)
    // The same rows the scaler saw: fu-drift compares new users with them.
    if table.rowCount > 0 { model.trainingDistribution = TrainingDistribution(table: table) }
    // For the report: what fakes and real users look like, and which features move together.
    if table.rowCount > 0 { model.featureSummary = FeatureSummary(table: table, labels: labels) }
    counter.advance()
    var foldFits: OutOfFoldFits?
    if needsFolds {
        foldFits = try OutOfFoldFits(table: table, labels: labels, folds: k, seed: foldSeed, trainer: trainer, counter: counter)
        model.training.folds = k
        model.training.seed = foldSeed
    }
    if calibration == .sigmoid, let foldFits {
        model.calibration = Calibration.fitSigmoid(decisions: foldFits.decisionValues, labels: labels)
    }
    // On the probabilities the model will give: calibrated ones when calibrated.
    let scores = foldFits.map { $0.decisionValues.map(model.probability(decision:)) } ?? []
    switch threshold {
    case .fixed(let value):
        model.threshold = value
        model.training.thresholdSource = value == 0.5 ? "default" : "fixed"
    case .auto(let folds, _):
        let best = bestF1Threshold(labels: labels, scores: scores)
        model.threshold = best.threshold
        model.training.thresholdSource = "auto (\(folds)-fold out-of-fold F1 \(best.f1))"
        model.training.thresholdRule = "auto"
    case .capacity(let share, let folds, _):
        let chosen = try capacityThreshold(scores: scores, share: share)
        model.threshold = chosen.threshold
        model.training.thresholdSource = "capacity \(share) (\(folds)-fold out-of-fold: flags \(chosen.flagged) of \(scores.count) users)"
        model.training.thresholdRule = "capacity:\(shortest(share))"
    case .cost(let falsePositive, let falseNegative, let folds, _):
        let chosen = leastCostThreshold(labels: labels, scores: scores, falsePositive: falsePositive, falseNegative: falseNegative)
        model.threshold = chosen.threshold
        model.training.thresholdSource = "cost fp=\(shortest(falsePositive)) fn=\(shortest(falseNegative)) (\(folds)-fold out-of-fold: "
            + "\(chosen.falsePositives) false positives, \(chosen.falseNegatives) false negatives, cost \(shortest(chosen.cost)))"
        model.training.thresholdRule = "cost:fp=\(shortest(falsePositive)),fn=\(shortest(falseNegative))"
    }
    if let bands {
        model.decisionBands = bands.choose(labels: labels, scores: scores, folds: k)
    }
    // Last: on the probabilities and threshold the model will have.
    if let policy, let foldFits, let reading {
        let levels = PolicySearch.replayOutOfFold(
            try reading.value(), labels: labels, foldOfRow: foldFits.foldOfRow, foldModels: foldFits.models,
            model: model, grid: PolicySearch.thresholdGrid(modelThreshold: model.threshold))
        model.streamPolicy = try PolicySearch.choose(levels, model: model, bound: policy.bound, folds: k, seed: foldSeed)
    }
    // Never hand out a model that fu's own loader would refuse.
    do {
        _ = try Model.parse(Array(model.json.rendered().utf8), name: "the fitted model")
    } catch let error as ToolError {
        throw ToolError(.software, "\(error.message); not written")
    }
    return (model, foldFits?.folds ?? [])
}
