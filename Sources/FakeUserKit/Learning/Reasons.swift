/// Each user's K strongest contributions to the log-odds (coefficient × standardized
/// value), by |contribution| descending, ties by feature name: what `--explain K` and
/// `?explain=K` print. Row-major, K entries a user.
public struct Reasons: Sendable {
    public let k: Int
    public let names: [String]
    /// Feature index of each entry.
    public private(set) var features: [Int32]
    /// The user's raw (unstandardized) value of that feature.
    public private(set) var values: [Double]
    public private(set) var contributions: [Double]

    /// The usage error for a K out of range, in the words of both the CLI and the server.
    public static func check(_ k: Int, featureCount: Int) throws {
        guard k >= 1 && k <= featureCount else {
            throw ToolError.usage("explain must be a number of reasons from 1 to \(featureCount) (the model's feature count), not \(k)")
        }
    }

    public init(model: Model, table: FeatureTable, k: Int) throws {
        try Reasons.check(k, featureCount: model.features.count)
        self.k = k
        let names = model.features
        self.names = names
        let width = model.features.count
        // Rank of each feature's name, for ties.
        var rank = [Int](repeating: 0, count: width)
        for (position, f) in names.indices.sorted(by: { names[$0] < names[$1] }).enumerated() { rank[f] = position }
        var features = [Int32](repeating: 0, count: table.rowCount * k)
        var values = [Double](repeating: 0, count: table.rowCount * k)
        var contributions = [Double](repeating: 0, count: table.rowCount * k)
        var top = [Int](repeating: 0, count: k)
        var topTerm = [Double](repeating: 0, count: k)
        table.values.withUnsafeBufferPointer { raw in
            for row in 0..<table.rowCount {
                var filled = 0
                for f in 0..<width {
                    let term = model.contribution(f, raw[row * width + f])
                    let size = abs(term)
                    // Insertion into the K kept so far, strongest first.
                    var slot = filled
                    while slot > 0 {
                        let other = abs(topTerm[slot - 1])
                        if other > size || (other == size && rank[top[slot - 1]] < rank[f]) { break }
                        slot -= 1
                    }
                    guard slot < k else { continue }
                    var move = min(filled, k - 1)
                    while move > slot {
                        top[move] = top[move - 1]
                        topTerm[move] = topTerm[move - 1]
                        move -= 1
                    }
                    top[slot] = f
                    topTerm[slot] = term
                    filled = min(filled + 1, k)
                }
                for j in 0..<k {
                    features[row * k + j] = Int32(top[j])
                    values[row * k + j] = raw[row * width + top[j]]
                    contributions[row * k + j] = topTerm[j]
                }
            }
        }
        self.features = features
        self.values = values
        self.contributions = contributions
    }

    /// The reasons of one row, strongest first.
    public func reasons(row: Int) -> [(feature: String, value: Double, contribution: Double)] {
        (0..<k).map { j in (names[Int(features[row * k + j])], values[row * k + j], contributions[row * k + j]) }
    }
}
