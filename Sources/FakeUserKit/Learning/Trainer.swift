/// Fits the scaler and the regression on a set of training rows: the one place that
/// decides how a model is made, for fu-fit, each CV fold and the `auto` threshold.
public struct Trainer: Sendable {
    public var cost: Double
    public var weighting: ClassWeighting

    public init(cost: Double = 1, weighting: ClassWeighting = .balanced) {
        self.cost = cost
        self.weighting = weighting
    }

    /// A model with threshold 0.5, trained on `rows` of `table` only.
    public func train(_ table: FeatureTable, labels: [UInt8], rows: [Int]) throws -> Model {
        // Past this, sums of squared deviations overflow and the scaler would take the
        // column for a constant one.
        let width = table.featureCount
        let huge = table.values.withUnsafeBufferPointer { values -> Int? in
            for row in rows {
                for index in (row * width)..<((row + 1) * width) where abs(values[index]) > 1e140 { return index }
            }
            return nil
        }
        if let huge {
            throw ToolError.data("feature '\(table.names[huge % width])' has a value beyond ±1e140 (\(table.values[huge])), too large to standardize")
        }
        let scaler = StandardScaler.fit(table, rows: rows)
        let design = scaler.design(table, rows: rows)
        let rowLabels = rows.map { labels[$0] }
        let fit = try LogisticRegression(cost: cost, weighting: weighting).fit(design: design, width: table.featureCount + 1, labels: rowLabels)
        let positives = rowLabels.reduce(0) { $0 + Int($1) }
        let training = TrainingFacts(
            rows: rows.count, positives: positives, cost: cost, weighting: weighting,
            classWeights: weighting.weights(rows: rows.count, positives: positives),
            iterations: fit.iterations, converged: fit.converged, gradientNorm: fit.gradientNorm, stopReason: fit.stopReason,
            thresholdSource: "default")
        return Model(
            features: table.names, scaler: scaler, coefficients: fit.coefficients, intercept: fit.intercept,
            threshold: 0.5, training: training)
    }
}
