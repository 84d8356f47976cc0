/// One fold's scores: its fit, scored on the fold's own rows at 0.5.
public struct FoldResult: Sendable {
    public var fit: FoldFit
    public var metrics: Metrics

    /// The per-fold scores fu reports (all of class 1).
    var scores: [(String, Double?)] {
        [("f1", metrics.positive.f1), ("precision", metrics.positive.precision), ("recall", metrics.positive.recall),
         ("roc_auc", metrics.rocAUC), ("average_precision", metrics.averagePrecision)]
    }
}

/// One fold's fit: its model was trained on the other folds' rows. The solver's facts.
public struct FoldFit: Sendable {
    public var fold: Int
    public var trainRows: Int
    public var iterations: Int
    public var converged: Bool
    public var gradientNorm: Double
    public var stopReason: StopReason?
}

/// Stratified k-fold's fits alone: each fold's model, its facts, and every row's out-of-fold
/// decision value. What fu-fit's threshold, calibration, bands and stream policy need;
/// `CrossValidation` adds the metrics fu-cv reports.
public struct OutOfFoldFits: Sendable {
    public var folds: [FoldFit]
    /// Each row's fold, and the rows of each fold in order.
    public var foldOfRow: [Int]
    public var testRows: [[Int]]
    /// Each fold's model, fitted on the other folds (fu-fit's stream policy search scores
    /// the fold's users with it after each of their events).
    public var models: [Model]
    /// Out-of-fold decision value (log-odds) of every row.
    public var decisionValues: [Double]

    /// A fresh scaler and model per fold, folds run in parallel; the result does not depend
    /// on how they were scheduled. `counter` advances as each fold ends.
    public init(table: FeatureTable, labels: [UInt8], folds k: Int, seed: UInt64, trainer: Trainer, counter: StepCounter? = nil) throws {
        let foldOfRow = try stratifiedFolds(labels: labels, folds: k, seed: seed)
        let results = try parallelMap(Array(0..<k)) { fold -> (FoldFit, [Int], [Double], Model) in
            // Training rows as 4-byte numbers: a fold holds little beside the table.
            var trainRows: [UInt32] = []
            var testRows: [Int] = []
            trainRows.reserveCapacity(foldOfRow.count - foldOfRow.count / k)
            testRows.reserveCapacity(foldOfRow.count / k + 1)
            for (row, rowFold) in foldOfRow.enumerated() {
                if rowFold == fold { testRows.append(row) } else { trainRows.append(UInt32(row)) }
            }
            let model = try trainer.train(table, labels: labels, selection: trainRows)
            let decisions = model.decisionValues(table, rows: testRows)
            counter?.advance()
            let fit = FoldFit(
                fold: fold, trainRows: trainRows.count, iterations: model.training.iterations, converged: model.training.converged,
                gradientNorm: model.training.gradientNorm, stopReason: model.training.stopReason)
            return (fit, testRows, decisions, model)
        }
        var decisionValues = [Double](repeating: 0, count: labels.count)
        for (_, rows, decisions, _) in results {
            for (row, decision) in zip(rows, decisions) { decisionValues[row] = decision }
        }
        folds = results.map(\.0)
        testRows = results.map(\.1)
        models = results.map(\.3)
        self.foldOfRow = foldOfRow
        self.decisionValues = decisionValues
    }
}

public struct CrossValidation: Sendable {
    public var folds: [FoldResult]
    /// Out-of-fold probability, decision value (log-odds) and fold of every row.
    public var probabilities: [Double]
    public var decisionValues: [Double]
    public var foldOfRow: [Int]
    public var bestThreshold: (threshold: Double, f1: Double)
    public var outOfFold: Metrics
    public var seed: UInt64

    /// Stratified k-fold (`OutOfFoldFits`), each fold scored at 0.5 on its own rows.
    public init(table: FeatureTable, labels: [UInt8], folds k: Int, seed: UInt64, trainer: Trainer, counter: StepCounter? = nil) throws {
        let fits = try OutOfFoldFits(table: table, labels: labels, folds: k, seed: seed, trainer: trainer, counter: counter)
        var probabilities = [Double](repeating: 0, count: labels.count)
        for (model, rows) in zip(fits.models, fits.testRows) {
            for row in rows { probabilities[row] = model.probability(decision: fits.decisionValues[row]) }
        }
        folds = parallelMap(fits.folds) { fit in
            let rows = fits.testRows[fit.fold]
            let metrics = Metrics(labels: rows.map { labels[$0] }, probabilities: rows.map { probabilities[$0] }, threshold: 0.5)
            return FoldResult(fit: fit, metrics: metrics)
        }
        self.probabilities = probabilities
        decisionValues = fits.decisionValues
        foldOfRow = fits.foldOfRow
        self.seed = seed
        bestThreshold = bestF1Threshold(labels: labels, scores: probabilities)
        outOfFold = Metrics(labels: labels, probabilities: probabilities, threshold: 0.5)
    }

    /// Per-fold scores, their mean and population standard deviation, the original
    /// train.py's `f1_scores`/`mean_f1`/`std_f1`, and the F1-optimal threshold.
    public func json(trainer: Trainer, table: FeatureTable, labels: [UInt8]) -> JSONValue {
        let names = folds[0].scores.map(\.0)
        func column(_ index: Int) -> [Double] { folds.compactMap { $0.scores[index].1 } }
        func mean(_ values: [Double]) -> Double? { values.count == folds.count ? values.reduce(0, +) / Double(values.count) : nil }
        func deviation(_ values: [Double]) -> Double? {
            guard let mean = mean(values) else { return nil }
            return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        }
        let f1Scores = column(0)
        return .object([
            ("folds", .integer(folds.count)),
            ("seed", .integer(Int(truncatingIfNeeded: seed))),
            ("rows", .integer(labels.count)),
            ("positives", .integer(labels.reduce(0) { $0 + Int($1) })),
            ("C", .number(trainer.cost)),
            ("class_weight", .string(trainer.weighting.rawValue)),
            ("features", .array(table.names.map { .string($0) })),
            ("per_fold", .array(folds.map { fold in
                .object([("fold", .integer(fold.fit.fold)), ("train_rows", .integer(fold.fit.trainRows)),
                         ("test_rows", .integer(fold.metrics.macro.support)),
                         ("test_positives", .integer(fold.metrics.positive.support))]
                        + fold.scores.map { ($0.0, JSONValue.finite($0.1)) }
                        + [("iterations", .integer(fold.fit.iterations)), ("converged", .bool(fold.fit.converged)),
                           ("gradient_norm", .finite(fold.fit.gradientNorm)),
                           ("stop_reason", fold.fit.stopReason.map { .string($0.rawValue) } ?? .null)])
            })),
            ("mean", .object(names.indices.map { (names[$0], .finite(mean(column($0)))) })),
            ("std", .object(names.indices.map { (names[$0], .finite(deviation(column($0)))) })),
            ("f1_scores", .numbers(f1Scores)),
            ("mean_f1", .finite(mean(f1Scores))),
            ("std_f1", .finite(deviation(f1Scores))),
            ("best_threshold", .number(bestThreshold.threshold)),
            ("best_threshold_f1", .number(bestThreshold.f1)),
            ("out_of_fold", outOfFold.json),
        ])
    }
}
