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

public struct LogisticFit: Sendable {
    /// In standardized space.
    public var coefficients: [Double]
    public var intercept: Double
    public var iterations: Int
    public var converged: Bool
    /// Largest absolute gradient component of the averaged objective at the solution.
    public var gradientNorm: Double
}

/// L2-regularised logistic regression with an unpenalised intercept: minimises
/// C · Σ sᵢ log(1 + exp(−ỹᵢ ηᵢ)) + ½‖w‖², ηᵢ = w·zᵢ + b, the objective of scikit-learn's
/// LogisticRegression. Newton's method (Cholesky of the full Hessian, which is small: one
/// row and column per feature) with a backtracking line search converges in a handful
/// of passes over the rows; the passes are split across the cores.
public struct LogisticRegression: Sendable {
    public var cost: Double
    public var weighting: ClassWeighting
    /// On the gradient of the objective divided by C · Σ sᵢ (scikit-learn's scale).
    public var tolerance = 1e-10
    public var maxIterations = 100

    public init(cost: Double = 1, weighting: ClassWeighting = .balanced) {
        self.cost = cost
        self.weighting = weighting
    }

    /// `design` is row-major with width m (features plus a trailing 1 for the intercept).
    public func fit(design: [Double], width m: Int, labels: [UInt8]) throws -> LogisticFit {
        let n = labels.count
        guard n > 0 else { throw ToolError.data("no rows to fit") }
        let positives = labels.reduce(0) { $0 + Int($1) }
        guard positives > 0 && positives < n else {
            throw ToolError.data("only one class in the training rows (\(positives) with Fake=1 of \(n)): need both")
        }
        let (weight0, weight1) = weighting.weights(rows: n, positives: positives)
        let weightTotal = weight0 * Double(n - positives) + weight1 * Double(positives)
        let scale = cost * weightTotal
        var beta = [Double](repeating: 0, count: m)
        let passes = RowPasses(design: design, width: m, labels: labels, weights: (weight0 * cost, weight1 * cost))
        var value = passes.objective(beta)
        var iterations = 0
        while true {
            let (gradient, hessian) = passes.gradientAndHessian(beta)
            let gradientNorm = gradient.map(abs).max()! / scale
            if gradientNorm < tolerance || iterations >= maxIterations {
                return LogisticFit(
                    coefficients: Array(beta[0..<(m - 1)]), intercept: beta[m - 1], iterations: iterations,
                    converged: gradientNorm < tolerance, gradientNorm: gradientNorm)
            }
            iterations += 1
            guard let step = solveCholesky(hessian, gradient.map { -$0 }, size: m) else {
                throw ToolError(.software, "the Hessian is not positive definite")
            }
            var slope = 0.0
            for j in 0..<m { slope += gradient[j] * step[j] }
            var t = 1.0
            var accepted = false
            for _ in 0..<60 {
                let candidate = zip(beta, step).map { $0 + t * $1 }
                let candidateValue = passes.objective(candidate)
                if candidateValue <= value + 1e-4 * t * slope {
                    beta = candidate
                    value = candidateValue
                    accepted = true
                    break
                }
                t /= 2
            }
            if !accepted {
                // No decrease is measurable any more: the solution is as good as doubles allow.
                let (gradient, _) = passes.gradientAndHessian(beta)
                let gradientNorm = gradient.map(abs).max()! / scale
                return LogisticFit(
                    coefficients: Array(beta[0..<(m - 1)]), intercept: beta[m - 1], iterations: iterations,
                    converged: gradientNorm < 1e-8, gradientNorm: gradientNorm)
            }
        }
    }
}

/// Sums over the rows, split in fixed contiguous blocks (one per core) and added in block
/// order, so the result is the same on every run.
struct RowPasses {
    let design: [Double]
    let width: Int
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

    /// C Σ sᵢ log(1 + exp(−ỹᵢ ηᵢ)) + ½‖w‖².
    func objective(_ beta: [Double]) -> Double {
        let m = width
        let parts = eachBlock { range -> Double in
            var total = 0.0
            design.withUnsafeBufferPointer { x in
                beta.withUnsafeBufferPointer { beta in
                    for i in range {
                        var eta = 0.0
                        for j in 0..<m { eta += x[i * m + j] * beta[j] }
                        let margin = labels[i] == 1 ? eta : -eta
                        total += (labels[i] == 1 ? weights.1 : weights.0) * softplus(-margin)
                    }
                }
            }
            return total
        }
        var penalty = 0.0
        for j in 0..<(m - 1) { penalty += beta[j] * beta[j] }
        return parts.reduce(0, +) + 0.5 * penalty
    }

    /// Gradient and Hessian (row-major m × m) of the objective.
    func gradientAndHessian(_ beta: [Double]) -> ([Double], [Double]) {
        let m = width
        let parts = eachBlock { range -> ([Double], [Double]) in
            var gradient = [Double](repeating: 0, count: m)
            var hessian = [Double](repeating: 0, count: m * m)
            design.withUnsafeBufferPointer { x in
                beta.withUnsafeBufferPointer { beta in
                    gradient.withUnsafeMutableBufferPointer { g in
                        hessian.withUnsafeMutableBufferPointer { h in
                            for i in range {
                                let row = x.baseAddress! + i * m
                                var eta = 0.0
                                for j in 0..<m { eta += row[j] * beta[j] }
                                let p = sigmoid(eta)
                                let weight = labels[i] == 1 ? weights.1 : weights.0
                                let residual = weight * (p - Double(labels[i]))
                                let curvature = weight * p * (1 - p)
                                for j in 0..<m {
                                    g[j] += residual * row[j]
                                    let scaled = curvature * row[j]
                                    let hrow = h.baseAddress! + j * m
                                    for k in 0...j { hrow[k] += scaled * row[k] }
                                }
                            }
                        }
                    }
                }
            }
            return (gradient, hessian)
        }
        var gradient = parts[0].0
        var hessian = parts[0].1
        for part in parts.dropFirst() {
            for j in 0..<m { gradient[j] += part.0[j] }
            for k in 0..<(m * m) { hessian[k] += part.1[k] }
        }
        for j in 0..<m {
            for k in 0..<j { hessian[k * m + j] = hessian[j * m + k] }
        }
        for j in 0..<(m - 1) {
            gradient[j] += beta[j]
            hessian[j * m + j] += 1
        }
        return (gradient, hessian)
    }
}

/// log(1 + exp(x)) without overflow.
@inline(__always)
func softplus(_ x: Double) -> Double {
    x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
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
