#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One feature's training distribution, as population stability needs it (docs/design.md,
/// Drift): bins cut at the training values' deciles, equal edges merged, and the share of
/// training values in each bin. The range tells a constant feature from one that merely
/// has most of its values on one edge.
public struct FeatureDistribution: Sendable, Equatable {
    /// Strictly increasing cut points, 1 to 9 of them; bin i holds edges[i-1] <= x < edges[i].
    public var edges: [Double]
    /// Training share of each bin: edges.count + 1 values adding up to 1.
    public var shares: [Double]
    public var minimum: Double
    public var maximum: Double

    public init(edges: [Double], shares: [Double], minimum: Double, maximum: Double) {
        self.edges = edges
        self.shares = shares
        self.minimum = minimum
        self.maximum = maximum
    }

    /// From the training values (at least one, all finite).
    public init(values: [Double]) {
        // A radix sort is several times faster than `sorted()` and gives the same array,
        // unless both zeros are present: equal to `sorted()`, they keep their input order.
        let sorted = values.contains { $0 == 0 && $0.sign == .minus } ? values.sorted() : radixSorted(values)
        var edges: [Double] = []
        for k in 1...9 {
            let edge = numpyLinearQuantile(sorted, Double(k) / 10)
            if edges.last != edge { edges.append(edge) }  // quantiles never decrease: equal ones are neighbours
        }
        self.edges = edges
        self.shares = []
        self.minimum = sorted.first ?? 0
        self.maximum = sorted.last ?? 0
        self.shares = shares(counts: Self.binCounts(sorted: sorted, edges: edges))
    }

    /// How many values fall in each bin (`bin`), from the values sorted: bin i ends where
    /// the values reach edges[i] (a binary search each), without a pass over the values.
    static func binCounts(sorted: [Double], edges: [Double]) -> [Int] {
        var ends = edges.map { edge in
            var low = 0, high = sorted.count  // the first value at or above edge
            while low < high {
                let middle = (low + high) / 2
                if sorted[middle] < edge { low = middle + 1 } else { high = middle }
            }
            return low
        }
        ends.append(sorted.count)
        return ends.indices.map { ends[$0] - ($0 == 0 ? 0 : ends[$0 - 1]) }
    }

    public var isConstant: Bool { minimum == maximum }
    public var binCount: Int { edges.count + 1 }

    /// The bin of a value: how many edges are at or below it (NumPy's
    /// `searchsorted(edges, x, side="right")`), so a value on an edge goes to its right.
    @inline(__always)
    public func bin(_ value: Double) -> Int {
        var index = 0
        while index < edges.count && edges[index] <= value { index += 1 }
        return index
    }

    /// Counts per bin as shares of their total.
    public func shares(counts: [Int]) -> [Double] {
        let total = counts.reduce(0, +)
        return counts.map { total == 0 ? 0 : Double($0) / Double(total) }
    }

    /// Each side's share floored here, so that an empty bin does not make the logarithm infinite.
    public static let shareFloor = 1e-4

    /// The population stability index of new values' bin shares against training's:
    /// Σ (new − train) · ln(new / train), both floored at 1e-4, summed bin by bin in order.
    public func stabilityIndex(newShares: [Double]) -> Double {
        var psi = 0.0
        for (train, new) in zip(shares, newShares) {
            let t = max(train, Self.shareFloor), n = max(new, Self.shareFloor)
            psi += (n - t) * log(n / t)
        }
        return psi
    }

    var json: JSONValue {
        .object([
            ("edges", .numbers(edges)), ("shares", .numbers(shares)), ("min", .number(minimum)), ("max", .number(maximum)),
        ])
    }

    /// Checks what `stabilityIndex` and `bin` rely on; the message says what is wrong.
    init(json: JSONValue) throws(DistributionProblem) {
        let edges = try finiteNumbers(json, "edges"), shares = try finiteNumbers(json, "shares")
        guard (1...9).contains(edges.count), zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw DistributionProblem("'edges' must be 1 to 9 increasing numbers")
        }
        guard shares.count == edges.count + 1, shares.allSatisfy({ (0...1).contains($0) }),
              abs(shares.reduce(0, +) - 1) < 1e-9 else {
            throw DistributionProblem("'shares' must be \(edges.count + 1) numbers from 0 to 1 adding up to 1 (one more than 'edges')")
        }
        // Not checked against the edges: NumPy's interpolation may round an edge a hair
        // past the range, and a model fu-fit wrote must load.
        guard let minimum = json["min"]?.doubleValue, let maximum = json["max"]?.doubleValue, minimum.isFinite, maximum.isFinite,
              minimum <= maximum else {
            throw DistributionProblem("'min' and 'max' must be finite numbers, min at most max")
        }
        self.init(edges: edges, shares: shares, minimum: minimum, maximum: maximum)
    }
}

/// `json[key]` as finite numbers, or the problem named.
func finiteNumbers(_ json: JSONValue, _ key: String) throws(DistributionProblem) -> [Double] {
    guard let items = json[key]?.arrayValue else { throw DistributionProblem("'\(key)' is missing or not an array") }
    var values: [Double] = []
    for item in items {
        guard let value = item.doubleValue, value.isFinite else { throw DistributionProblem("'\(key)' has a value that is not a finite number") }
        values.append(value)
    }
    return values
}

struct DistributionProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// NumPy's default `quantile` (method "linear") of sorted values: position q·(n−1),
/// interpolated between its neighbours as NumPy's `_lerp` does it (from the upper
/// neighbour when the fraction is at least one half), so the edges are the same doubles.
/// Finite values without -0.0 in ascending order: an LSD radix sort, 16 bits a pass, on
/// keys whose unsigned order is the values' order (the sign bit flipped for positives,
/// every bit for negatives). Equal keys are equal values, so stability does not matter.
func radixSorted(_ values: [Double]) -> [Double] {
    var keys = values.map { value -> UInt64 in
        let bits = value.bitPattern
        return bits >> 63 == 0 ? bits | (1 << 63) : ~bits
    }
    var scratch = [UInt64](repeating: 0, count: keys.count)
    var counts = [Int](repeating: 0, count: 1 << 16)
    for shift in stride(from: 0, to: 64, by: 16) {
        for i in counts.indices { counts[i] = 0 }
        for key in keys { counts[Int(truncatingIfNeeded: key >> UInt64(shift)) & 0xFFFF] += 1 }
        // A pass whose digit is the same for every key moves nothing.
        if counts.contains(keys.count) { continue }
        var start = 0
        for i in counts.indices { (counts[i], start) = (start, start + counts[i]) }
        keys.withUnsafeBufferPointer { keys in
            scratch.withUnsafeMutableBufferPointer { scratch in
                counts.withUnsafeMutableBufferPointer { next in
                    for key in keys {
                        let digit = Int(truncatingIfNeeded: key >> UInt64(shift)) & 0xFFFF
                        scratch[next[digit]] = key
                        next[digit] += 1
                    }
                }
            }
        }
        swap(&keys, &scratch)
    }
    return keys.map { key in Double(bitPattern: key >> 63 == 1 ? key & ~(1 << 63) : ~key) }
}

func numpyLinearQuantile(_ sorted: [Double], _ q: Double) -> Double {
    let position = Double(sorted.count - 1) * q
    let below = position.rounded(.down)
    let lower = Int(below), upper = min(lower + 1, sorted.count - 1)
    let fraction = position - below
    let a = sorted[lower], b = sorted[upper]
    let difference = b - a
    return fraction >= 0.5 ? b - difference * (1 - fraction) : a + difference * fraction
}

/// Every feature's training distribution, in the model's feature order: the model file's
/// optional `training_distribution`, written by fu-fit.
public struct TrainingDistribution: Sendable, Equatable {
    public var features: [FeatureDistribution]

    public init(features: [FeatureDistribution]) {
        self.features = features
    }

    /// From a training table's raw values, one distribution per column (each a sort of
    /// the column: the columns on every core).
    public init(table: FeatureTable) {
        let width = table.featureCount
        features = parallelMap(Array(0..<width)) { f in
            FeatureDistribution(values: (0..<table.rowCount).map { table.values[$0 * width + f] })
        }
    }

    /// `{"FEATURE": {"edges", "shares", "min", "max"}, …}` in the model's feature order.
    func json(names: [String]) -> JSONValue {
        .object(zip(names, features).map { ($0, $1.json) })
    }

    /// The model file's value, which must name exactly the model's features in order.
    init(json: JSONValue, names: [String]) throws(DistributionProblem) {
        guard case .object(let pairs) = json else { throw DistributionProblem("must be an object of features") }
        guard pairs.map(\.0) == names else { throw DistributionProblem("must name the model's features, in their order") }
        var features: [FeatureDistribution] = []
        for (name, value) in pairs {
            do {
                features.append(try FeatureDistribution(json: value))
            } catch {
                throw DistributionProblem("'\(name)': \(error.message)")
            }
        }
        self.init(features: features)
    }
}
