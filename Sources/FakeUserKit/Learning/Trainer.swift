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
        try train(table, labels: labels, selection: rowNumbers(rows))
    }

    /// The same, on the rows `selection` names (nil: every row, in order). The rows are
    /// standardized as the solver reads them: no standardized copy of the table is made.
    func train(_ table: FeatureTable, labels: [UInt8], selection: [UInt32]?) throws -> Model {
        // Past this, sums of squared deviations overflow and the scaler would take the
        // column for a constant one.
        let width = table.featureCount
        let huge = table.values.withUnsafeBufferPointer { values -> Int? in
            func check(_ row: Int) -> Int? {
                for index in (row * width)..<((row + 1) * width) where abs(values[index]) > 1e140 { return index }
                return nil
            }
            if let selection {
                for row in selection { if let index = check(Int(row)) { return index } }
            } else {
                for row in 0..<table.rowCount { if let index = check(row) { return index } }
            }
            return nil
        }
        if let huge {
            throw ToolError.data("feature '\(table.names[huge % width])' has a value beyond ±1e140 (\(table.values[huge])), too large to standardize")
        }
        let scaler = selection.map { StandardScaler.fit(table, rows: $0.lazy.map { Int($0) }) }
            ?? StandardScaler.fit(table, rows: 0..<table.rowCount)
        let rowLabels = selection.map { $0.map { labels[Int($0)] } } ?? labels
        let solver = LogisticRegression(cost: cost, weighting: weighting)
        let fit = try table.values.withUnsafeBufferPointer { values in
            try scaler.mean.withUnsafeBufferPointer { mean in
                try scaler.scale.withUnsafeBufferPointer { scale in
                    func design(_ rows: UnsafeBufferPointer<UInt32>?) -> DesignRows {
                        DesignRows(values: values, mean: mean, scale: scale, rows: rows, width: width + 1, count: rowLabels.count)
                    }
                    guard let selection else { return try solver.fit(design(nil), labels: rowLabels) }
                    return try selection.withUnsafeBufferPointer { try solver.fit(design($0), labels: rowLabels) }
                }
            }
        }
        let positives = rowLabels.reduce(0) { $0 + Int($1) }
        let training = TrainingFacts(
            rows: rowLabels.count, positives: positives, cost: cost, weighting: weighting,
            classWeights: weighting.weights(rows: rowLabels.count, positives: positives),
            iterations: fit.iterations, converged: fit.converged, gradientNorm: fit.gradientNorm, stopReason: fit.stopReason,
            thresholdSource: "default")
        return Model(
            features: table.names, scaler: scaler, coefficients: fit.coefficients, intercept: fit.intercept,
            threshold: 0.5, training: training, eventTypeColumns: table.names.filter { table.eventTypeColumns.contains($0) })
    }
}

/// Row numbers as the solver stores them (4 bytes each).
func rowNumbers(_ rows: [Int]) throws -> [UInt32] {
    try rows.map { row in
        guard let number = UInt32(exactly: row) else { throw ToolError.data("row \(row) is past the \(UInt32.max) rows fu can fit") }
        return number
    }
}
