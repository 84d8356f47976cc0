/// Mean and population standard deviation per feature, as scikit-learn's StandardScaler:
/// a constant column (variance within rounding of zero) gets scale 1.
public struct StandardScaler: Sendable, Equatable {
    public var mean: [Double]
    public var scale: [Double]

    public init(mean: [Double], scale: [Double]) {
        self.mean = mean
        self.scale = scale
    }

    /// Fits on the given rows only (never on test or validation rows).
    public static func fit(_ table: FeatureTable, rows: [Int]) -> StandardScaler {
        fit(table, rows: rows[...])
    }

    /// The same over any sequence of row numbers (read twice, in the same order).
    static func fit<Rows: Collection>(_ table: FeatureTable, rows: Rows) -> StandardScaler where Rows.Element == Int {
        let width = table.featureCount
        let n = Double(rows.count)
        var sums = [Double](repeating: 0, count: width)
        table.values.withUnsafeBufferPointer { values in
            for row in rows {
                for f in 0..<width { sums[f] += values[row * width + f] }
            }
        }
        let mean = sums.map { $0 / n }
        // Two-pass variance with the rounding correction scikit-learn also applies.
        var squares = [Double](repeating: 0, count: width)
        var corrections = [Double](repeating: 0, count: width)
        table.values.withUnsafeBufferPointer { values in
            for row in rows {
                for f in 0..<width {
                    let difference = values[row * width + f] - mean[f]
                    squares[f] += difference * difference
                    corrections[f] += difference
                }
            }
        }
        let epsilon = Double.ulpOfOne
        let scale = (0..<width).map { f -> Double in
            let variance = max((squares[f] - corrections[f] * corrections[f] / n) / n, 0)
            let constantBound = n * epsilon * variance + (n * mean[f] * epsilon) * (n * mean[f] * epsilon)
            return variance <= constantBound ? 1 : variance.squareRoot()
        }
        return StandardScaler(mean: mean, scale: scale)
    }

    /// The rows standardized, row-major, each followed by a 1 for the intercept.
    public func design(_ table: FeatureTable, rows: [Int]) -> [Double] {
        let width = table.featureCount
        var result = [Double](repeating: 1, count: rows.count * (width + 1))
        table.values.withUnsafeBufferPointer { values in
            result.withUnsafeMutableBufferPointer { out in
                for (r, row) in rows.enumerated() {
                    for f in 0..<width {
                        out[r * (width + 1) + f] = (values[row * width + f] - mean[f]) / scale[f]
                    }
                }
            }
        }
        return result
    }
}
