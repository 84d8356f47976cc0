#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Platt scaling: P(Fake = 1) = 1 / (1 + exp(a·f + b)) for a decision value f, with
/// scikit-learn's `_SigmoidCalibration` signs (a is negative when f ranks users well).
public struct Calibration: Sendable, Equatable {
    public var a: Double
    public var b: Double

    public init(a: Double, b: Double) {
        self.a = a
        self.b = b
    }

    @inline(__always)
    public func probability(_ decision: Double) -> Double {
        sigmoid(-(a * decision + b))
    }

    /// The decision value a calibrated probability came from (the inverse of
    /// `probability`), nil when `a` is 0 (every decision value gives the same probability).
    /// fu-report uses it to show test users' probabilities before calibration.
    public func decision(forProbability p: Double) -> Double? {
        guard a != 0 else { return nil }
        // p = σ(−(a f + b))  ⇔  a f + b = log((1 − p) / p)
        return (log1p(-p) - log(p) - b) / a
    }

    public var json: JSONValue {
        .object([("method", .string("sigmoid")), ("a", .number(a)), ("b", .number(b))])
    }

    /// nil unless `{"method": "sigmoid", "a": finite, "b": finite}`.
    public init?(json: JSONValue) {
        guard json["method"]?.stringValue == "sigmoid", let a = json["a"]?.doubleValue, let b = json["b"]?.doubleValue,
              a.isFinite, b.isFinite else { return nil }
        self.init(a: a, b: b)
    }

    /// Platt's fit as scikit-learn's `_sigmoid_calibration` does it (no sample weights):
    /// targets (n₊ + 1)/(n₊ + 2) and 1/(n₋ + 2) instead of 1 and 0, log loss minimised over
    /// (a, b) from a = 0, b = log((n₋ + 1)/(n₊ + 1)). Newton's method with a backtracking
    /// line search on this two-parameter convex problem, run until the gradient, divided by
    /// the number of rows, is below 1e-12 (scikit-learn stops its L-BFGS at 1e-6 of the
    /// unscaled gradient, so the two agree to about that).
    public static func fitSigmoid(decisions f: [Double], labels: [UInt8]) -> Calibration {
        let positives = Double(labels.reduce(0) { $0 + Int($1) })
        let negatives = Double(labels.count) - positives
        let high = (positives + 1) / (positives + 2), low = 1 / (negatives + 2)
        let targets = labels.map { $0 == 1 ? high : low }
        let n = Double(max(labels.count, 1))
        // Loss Σ log(1 + e^z) − (1 − t) z with z = a f + b; dL/dz = t − p, d²L/dz² = p (1 − p).
        func loss(_ a: Double, _ b: Double) -> Double {
            var total = 0.0
            for i in f.indices {
                let z = a * f[i] + b
                total += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - (1 - targets[i]) * z
            }
            return total
        }
        var a = 0.0, b = log((negatives + 1) / (positives + 1))
        var current = loss(a, b)
        for _ in 0..<200 {
            var ga = 0.0, gb = 0.0, haa = 0.0, hab = 0.0, hbb = 0.0
            for i in f.indices {
                let p = sigmoid(-(a * f[i] + b))
                let r = targets[i] - p, w = p * (1 - p)
                ga += r * f[i]; gb += r
                haa += w * f[i] * f[i]; hab += w * f[i]; hbb += w
            }
            if max(abs(ga), abs(gb)) / n < 1e-12 { break }
            let det = haa * hbb - hab * hab
            var da: Double, db: Double
            if det > 1e-300 * max(haa * hbb, 1e-300) && det.isFinite {
                da = -(hbb * ga - hab * gb) / det
                db = -(haa * gb - hab * ga) / det
            } else {
                // All decision values equal: only the intercept moves.
                da = 0
                db = hbb > 0 ? -gb / hbb : -gb
            }
            var step = 1.0, improved = false
            for _ in 0..<60 {
                let next = loss(a + step * da, b + step * db)
                if next <= current {
                    a += step * da; b += step * db
                    improved = next < current
                    current = next
                    break
                }
                step /= 2
            }
            if !improved { break }
        }
        return Calibration(a: a, b: b)
    }
}
