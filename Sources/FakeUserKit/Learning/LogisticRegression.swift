#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

public enum ClassWeighting: String, Sendable, CaseIterable {
    /// n / (2 · n_class), scikit-learn's `class_weight="balanced"`.
    case balanced
    case none

    /// The weight of class 0 and of class 1.
    public func weights(rows: Int, positives: Int) -> (Double, Double) {
        switch self {
        case .balanced:
            return (Double(rows) / (2 * Double(rows - positives)), Double(rows) / (2 * Double(positives)))
        case .none:
            return (1, 1)
        }
    }
}

/// Why the solver stopped.
public enum StopReason: String, Sendable, CaseIterable {
    /// The scaled gradient is below the tolerance.
    case gradient
    /// The Newton decrement says the objective cannot improve by more than its rounding.
    case newtonDecrement = "newton_decrement"
    /// No step along the Newton direction decreased the objective measurably.
    case noDecrease = "no_decrease"
    case maxIterations = "max_iterations"
    /// Cholesky failed: the Hessian is not numerically positive definite.
    case singularHessian = "singular_hessian"

    /// Whether the fit is as good as doubles allow.
    public var converged: Bool { self == .gradient || self == .newtonDecrement }
}

public struct LogisticFit: Sendable {
    /// In standardized space.
    public var coefficients: [Double]
    public var intercept: Double
    public var iterations: Int
    public var stopReason: StopReason
    /// Largest absolute gradient component of the averaged objective at the solution.
    public var gradientNorm: Double

    public var converged: Bool { stopReason.converged }
}

/// L2-regularised logistic regression with an unpenalised intercept: minimises
/// C · Σ sᵢ log(1 + exp(−ỹᵢ ηᵢ)) + ½‖w‖², ηᵢ = w·zᵢ + b, the objective of scikit-learn's
/// LogisticRegression. Newton's method (Cholesky of the full Hessian, which is small: one
/// row and column per feature) with a backtracking line search converges in a handful
/// of passes over the rows; the passes are split across the cores.
///
/// Stopping: the scaled gradient below `tolerance` is the goal, but rounding in the sums
/// over many rows can keep the gradient above it. So the solver also stops when the
/// Newton decrement λ²/2 (the decrease a Newton step promises) is below the rounding of
/// the objective itself, after taking that last full step; when the line search finds no
/// decrease in `maxHalvings` halvings; at `maxIterations`; or when Cholesky fails.
public struct LogisticRegression: Sendable {
    public var cost: Double
    public var weighting: ClassWeighting
    /// On the gradient of the objective divided by C · Σ sᵢ (scikit-learn's scale).
    public var tolerance = 1e-10
    public var maxIterations = 100
    /// Step lengths down to 2⁻³⁵ ≈ 3e-11 of the Newton step.
    public var maxHalvings = 35

    /// `design` is row-major with width m (features plus a trailing 1 for the intercept).
    public func fit(design: [Double], width m: Int, labels: [UInt8]) throws -> LogisticFit {
        try design.withUnsafeBufferPointer { design in
            try fit(DesignRows(values: design, width: m, count: labels.count), labels: labels)
        }
    }

    /// The same fit on rows that are standardized as they are read: no copy of the table.
    func fit(_ rows: DesignRows, labels: [UInt8]) throws -> LogisticFit {
        let n = labels.count
        guard n > 0 else { throw ToolError.data("no rows to fit") }
        let positives = labels.reduce(0) { $0 + Int($1) }
        guard positives > 0 && positives < n else {
            throw ToolError.data("only one class in the training rows (\(positives) with Fake=1 of \(n)): need both")
        }
        // Values past ~1e154 overflow the sums of squares; say so rather than fit NaN.
        guard rows.allFinite() else {
            throw ToolError.data("a standardized feature value is not a finite number (feature values too large)")
        }
        let start = warmStart(rows, labels: labels) ?? [Double](repeating: 0, count: rows.width)
        let fit = solve(rows, labels: labels, positives: positives, from: start)
        // The line search only accepts finite objectives, so this is a last guard, not a path.
        guard fit.intercept.isFinite && fit.coefficients.allSatisfy(\.isFinite) else {
            throw ToolError.data("the solver did not reach finite coefficients (\(fit.stopReason.rawValue))")
        }
        return fit
    }

    /// On many rows, the solution for every 16th row (itself found the same way) is a
    /// starting point a few Newton steps from the full solution: the early, damped steps
    /// then cost a sixteenth. The full problem is still solved to the same tolerance.
    private func warmStart(_ rows: DesignRows, labels: [UInt8]) -> [Double]? {
        let n = labels.count
        guard n >= 100_000 else { return nil }
        let picked = Array(Swift.stride(from: 0, to: n, by: 16))
        let sampleLabels = picked.map { labels[$0] }
        let samplePositives = sampleLabels.reduce(0) { $0 + Int($1) }
        guard samplePositives > 0 && samplePositives < sampleLabels.count else { return nil }
        let sample = rows.every16th()
        let start = warmStart(sample, labels: sampleLabels) ?? [Double](repeating: 0, count: rows.width)
        let fit = solve(sample, labels: sampleLabels, positives: samplePositives, from: start)
        return fit.coefficients + [fit.intercept]
    }

    private func solve(_ rows: DesignRows, labels: [UInt8], positives: Int, from start: [Double]) -> LogisticFit {
        let n = labels.count
        let m = rows.width
        let (weight0, weight1) = weighting.weights(rows: n, positives: positives)
        let scale = cost * (weight0 * Double(n - positives) + weight1 * Double(positives))
        let passes = RowPasses(rows: rows, labels: labels, weights: (weight0 * cost, weight1 * cost))
        // The objective is a sum of n positive terms (each good to a few ulps): its rounding
        // is about ε·√n of its value. Changes below that cannot be measured.
        let roundingFactor = Double.ulpOfOne * Double(n).squareRoot()
        var beta = start
        var current = passes.evaluate(beta)
        var iterations = 0
        var unmeasured = false
        func norm(_ evaluation: RowPasses.Evaluation) -> Double { evaluation.gradient.map(abs).max()! / scale }
        func result(_ reason: StopReason) -> LogisticFit {
            LogisticFit(
                coefficients: Array(beta[0..<(m - 1)]), intercept: beta[m - 1], iterations: iterations,
                stopReason: reason, gradientNorm: norm(current))
        }
        while true {
            if norm(current) < tolerance { return result(.gradient) }
            if iterations >= maxIterations { return result(.maxIterations) }
            iterations += 1
            // The Hessian is positive definite (the L2 term, plus curvature for the intercept).
            guard let step = solveCholesky(current.hessian, current.gradient.map { -$0 }, size: m),
                step.allSatisfy(\.isFinite)
            else { return result(.singularHessian) }
            var slope = 0.0
            for j in 0..<m { slope += current.gradient[j] * step[j] }
            let floor = roundingFactor * abs(current.value)
            if -slope / 2 <= floor {
                // f − f* ≈ λ²/2 is below what the objective can resolve, so a line search
                // would only chase rounding. The full Newton step is right this close (and
                // makes the answer quadratically better); keep it unless the gradient grew.
                let candidate = (0..<m).map { beta[$0] + step[$0] }
                let evaluation = passes.evaluate(candidate)
                if evaluation.value.isFinite && norm(evaluation) <= norm(current) {
                    beta = candidate
                    current = evaluation
                }
                return result(norm(current) < tolerance ? .gradient : .newtonDecrement)
            }
            var t = 1.0
            var accepted = false
            for _ in 0...maxHalvings {
                let candidate = (0..<m).map { beta[$0] + t * step[$0] }
                let evaluation = passes.evaluate(candidate)
                if evaluation.value <= current.value + 1e-4 * t * slope {
                    let decrease = current.value - evaluation.value
                    beta = candidate
                    current = evaluation
                    accepted = true
                    // A decrease lost in rounding is luck, not progress: twice in a row, stop
                    // rather than repeat it until the iteration cap.
                    if decrease <= floor {
                        if unmeasured { return result(norm(current) < tolerance ? .gradient : .noDecrease) }
                        unmeasured = true
                    } else {
                        unmeasured = false
                    }
                    break
                }
                t /= 2
            }
            if !accepted { return result(.noDecrease) }
        }
    }
}

/// The rows of the design matrix (standardized features and a trailing 1 for the
/// intercept), read either from a design already in memory or from a table's raw values,
/// standardized as they are read ((x − mean) / scale, exactly as `StandardScaler.design`
/// computes them, so the sums are the same to the bit), optionally through a list of
/// row numbers. The pointers are borrowed: valid only while the caller holds the arrays.
struct DesignRows: @unchecked Sendable {
    /// Row-major values: the design itself (stride `width`), or raw features (stride
    /// `width - 1`) when `mean` and `scale` are given.
    let values: UnsafeBufferPointer<Double>
    var mean: UnsafeBufferPointer<Double>? = nil
    var scale: UnsafeBufferPointer<Double>? = nil
    /// Row i is values row `rows[i * step]` (nil: row i * step).
    var rows: UnsafeBufferPointer<UInt32>? = nil
    var step = 1
    /// Features + 1.
    let width: Int
    var count: Int

    /// Rows 0, 16, 32… of these.
    func every16th() -> DesignRows {
        var sample = self
        sample.step = step * 16
        sample.count = (count + 15) / 16
        return sample
    }

    /// Whether the rows are read in place (a design, all rows in order): no copy needed.
    var isContiguousDesign: Bool { mean == nil && rows == nil && step == 1 }

    /// A pointer to row i when `isContiguousDesign`.
    @inline(__always) func contiguousRow(_ i: Int) -> UnsafePointer<Double> {
        values.baseAddress! + i * width
    }

    /// Writes row i (with its trailing 1) to `out[0..<width]`.
    @inline(__always) func load(_ i: Int, into out: UnsafeMutablePointer<Double>) {
        let position = i * step
        let row = rows.map { Int($0[position]) } ?? position
        if let mean, let scale {
            let features = width - 1
            let source = values.baseAddress! + row * features
            for f in 0..<features { out[f] = (source[f] - mean[f]) / scale[f] }
            out[features] = 1
        } else {
            out.update(from: values.baseAddress! + row * width, count: width)
        }
    }

    /// Whether every value of every row is finite.
    func allFinite() -> Bool {
        if isContiguousDesign { return values.allSatisfy(\.isFinite) }
        let n = count
        let blocks = n < 20_000 ? [0..<n] : [0..<(n / 2), (n / 2)..<n]
        let finite = parallelMap(blocks) { range -> Bool in
            var row = [Double](repeating: 0, count: width)
            return row.withUnsafeMutableBufferPointer { row in
                for i in range {
                    load(i, into: row.baseAddress!)
                    for value in row where !value.isFinite { return false }
                }
                return true
            }
        }
        return finite.allSatisfy { $0 }
    }
}

/// Sums over the rows, split in fixed contiguous blocks (one per core) and added in block
/// order, so the result is the same on every run.
struct RowPasses {
    let rows: DesignRows
    let labels: [UInt8]
    /// C · class weight, for class 0 and class 1.
    let weights: (Double, Double)

    private var blocks: [Range<Int>] {
        let n = labels.count
        let count = n < 20_000 ? 1 : 2
        return (0..<count).map { b in (n * b / count)..<(n * (b + 1) / count) }
    }

    private func eachBlock<T>(_ body: (Range<Int>) -> T) -> [T] {
        parallelMap(blocks, body)
    }

    struct Evaluation {
        /// C Σ sᵢ log(1 + exp(−ỹᵢ ηᵢ)) + ½‖w‖²
        var value: Double
        var gradient: [Double]
        /// Row-major m × m.
        var hessian: [Double]
    }

    /// The objective, its gradient and its Hessian in one pass over the rows (one exp and
    /// one log1p a row).
    func evaluate(_ beta: [Double]) -> Evaluation {
        let m = rows.width
        let rows = self.rows
        let parts = eachBlock { range -> (Double, [Double], [Double]) in
            var value = 0.0
            var gradient = [Double](repeating: 0, count: m)
            var hessian = [Double](repeating: 0, count: m * m)
            // Each row's curvature-scaled copy, four rows at a time: the lower triangle of
            // the Hessian is then loaded and stored once per four rows, not once per row.
            var scaled = [Double](repeating: 0, count: 4 * m)
            // The four rows themselves, when they are standardized as read.
            var loaded = [Double](repeating: 0, count: 4 * m)
            let direct = rows.isContiguousDesign
            beta.withUnsafeBufferPointer { beta in
                gradient.withUnsafeMutableBufferPointer { g in
                    hessian.withUnsafeMutableBufferPointer { h in
                        scaled.withUnsafeMutableBufferPointer { s in
                            loaded.withUnsafeMutableBufferPointer { l in
                                var start = range.lowerBound
                                while start < range.upperBound {
                                    let count = min(4, range.upperBound - start)
                                    // Rows past the end are zero-scaled: any valid row stands in for them.
                                    let last = range.upperBound - 1
                                    let x0, x1, x2, x3: UnsafePointer<Double>
                                    if direct {
                                        x0 = rows.contiguousRow(start)
                                        x1 = rows.contiguousRow(min(start + 1, last))
                                        x2 = rows.contiguousRow(min(start + 2, last))
                                        x3 = rows.contiguousRow(min(start + 3, last))
                                    } else {
                                        let base = l.baseAddress!
                                        for r in 0..<4 { rows.load(min(start + r, last), into: base + r * m) }
                                        (x0, x1, x2, x3) = (UnsafePointer(base), UnsafePointer(base + m), UnsafePointer(base + 2 * m), UnsafePointer(base + 3 * m))
                                    }
                                    let xs = (x0, x1, x2, x3)
                                    for r in 0..<4 {
                                        let target = s.baseAddress! + r * m
                                        guard r < count else {
                                            target.update(repeating: 0, count: m)
                                            continue
                                        }
                                        let i = start + r
                                        let row = r == 0 ? xs.0 : r == 1 ? xs.1 : r == 2 ? xs.2 : xs.3
                                        var eta = 0.0
                                        for j in 0..<m { eta += row[j] * beta[j] }
                                        let e = exp(-abs(eta))
                                        let p = eta >= 0 ? 1 / (1 + e) : e / (1 + e)
                                        let weight = labels[i] == 1 ? weights.1 : weights.0
                                        let margin = labels[i] == 1 ? eta : -eta
                                        value += weight * (max(-margin, 0) + log1p(e))
                                        let residual = weight * (p - Double(labels[i]))
                                        let curvature = weight * p * (1 - p)
                                        for j in 0..<m {
                                            g[j] += residual * row[j]
                                            target[j] = curvature * row[j]
                                        }
                                    }
                                    let (s0, s1, s2, s3) = (s.baseAddress!, s.baseAddress! + m, s.baseAddress! + 2 * m, s.baseAddress! + 3 * m)
                                    // Whole rows of the (symmetric) Hessian in SIMD4 chunks: twice
                                    // the arithmetic of the triangle, but four lanes at a time.
                                    let vectorEnd = m & ~3
                                    for j in 0..<m {
                                        let (a0, a1, a2, a3) = (s0[j], s1[j], s2[j], s3[j])
                                        let hrow = h.baseAddress! + j * m
                                        var k = 0
                                        while k < vectorEnd {
                                            var sum = UnsafeRawPointer(hrow + k).loadUnaligned(as: SIMD4<Double>.self)
                                            sum += a0 * UnsafeRawPointer(x0 + k).loadUnaligned(as: SIMD4<Double>.self)
                                            sum += a1 * UnsafeRawPointer(x1 + k).loadUnaligned(as: SIMD4<Double>.self)
                                            sum += a2 * UnsafeRawPointer(x2 + k).loadUnaligned(as: SIMD4<Double>.self)
                                            sum += a3 * UnsafeRawPointer(x3 + k).loadUnaligned(as: SIMD4<Double>.self)
                                            UnsafeMutableRawPointer(hrow + k).storeBytes(of: sum, as: SIMD4<Double>.self)
                                            k += 4
                                        }
                                        while k < m {
                                            hrow[k] += a0 * x0[k] + a1 * x1[k] + a2 * x2[k] + a3 * x3[k]
                                            k += 1
                                        }
                                    }
                                    start += count
                                }
                            }
                        }
                    }
                }
            }
            return (value, gradient, hessian)
        }
        var value = parts[0].0
        var gradient = parts[0].1
        var hessian = parts[0].2
        for part in parts.dropFirst() {
            value += part.0
            for j in 0..<m { gradient[j] += part.1[j] }
            for k in 0..<(m * m) { hessian[k] += part.2[k] }
        }
        for j in 0..<m {  // exactly symmetric, whatever the rounding of each half
            for k in 0..<j { hessian[k * m + j] = hessian[j * m + k] }
        }
        for j in 0..<(m - 1) {
            value += 0.5 * beta[j] * beta[j]
            gradient[j] += beta[j]
            hessian[j * m + j] += 1
        }
        return Evaluation(value: value, gradient: gradient, hessian: hessian)
    }
}

/// 1 / (1 + exp(−x)) without overflow.
@inline(__always)
public func sigmoid(_ x: Double) -> Double {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}

/// Solves A x = b for a symmetric positive definite A (row-major n × n); nil if not SPD.
func solveCholesky(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var sum = a[i * n + j]
            for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
            if i == j {
                guard sum > 0 else { return nil }
                l[i * n + i] = sum.squareRoot()
            } else {
                l[i * n + j] = sum / l[j * n + j]
            }
        }
    }
    var y = b
    for i in 0..<n {
        for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
        y[i] /= l[i * n + i]
    }
    var x = y
    for i in stride(from: n - 1, through: 0, by: -1) {
        for k in (i + 1)..<n { x[i] -= l[k * n + i] * x[k] }
        x[i] /= l[i * n + i]
    }
    return x
}
