/// Each user's K strongest contributions to the log-odds (coefficient × standardized
/// value), by |contribution| descending, ties by feature name: what `--explain K` and
/// `?explain=K` print. Worked out row by row as the rows are written, so that they cost
/// no memory.
public struct Reasons: Sendable {
    public let k: Int
    public let names: [String]
    let model: Model
    let table: FeatureTable
    /// Each feature's place in name order, for ties.
    let rank: [Int]

    /// The usage error for a K out of range, in the words of both the CLI and the server.
    public static func check(_ k: Int, featureCount: Int) throws {
        guard k >= 1 && k <= featureCount else {
            throw ToolError.usage("explain must be a number of reasons from 1 to \(featureCount) (the model's feature count), not \(k)")
        }
    }

    /// `table`'s columns are the model's features.
    public init(model: Model, table: FeatureTable, k: Int) throws {
        try Reasons.check(k, featureCount: model.features.count)
        self.k = k
        self.model = model
        self.table = table
        let names = model.features
        self.names = names
        var rank = [Int](repeating: 0, count: names.count)
        for (position, f) in names.indices.sorted(by: { names[$0] < names[$1] }).enumerated() { rank[f] = position }
        self.rank = rank
    }

    /// Row `row`'s K strongest features with their raw values and contributions, strongest first.
    func explanation(row: Int) -> [(feature: String, value: Double, contribution: Double)] {
        var top = [Int](repeating: 0, count: k), terms = [Double](repeating: 0, count: k)
        strongest(row: row, top: &top, terms: &terms)
        let width = names.count
        return zip(top, terms).map { (names[$0], table.values[row * width + $0], $1) }
    }

    /// Row `row`'s K strongest features and their contributions into `top` and `terms`
    /// (each of K elements), strongest first.
    func strongest(row: Int, top: inout [Int], terms: inout [Double]) {
        let width = names.count
        var filled = 0
        table.values.withUnsafeBufferPointer { raw in
            for f in 0..<width {
                let term = model.contribution(f, raw[row * width + f])
                let size = abs(term)
                // Insertion into the K kept so far.
                var slot = filled
                while slot > 0 {
                    let other = abs(terms[slot - 1])
                    if other > size || (other == size && rank[top[slot - 1]] < rank[f]) { break }
                    slot -= 1
                }
                guard slot < k else { continue }
                var move = min(filled, k - 1)
                while move > slot {
                    top[move] = top[move - 1]
                    terms[move] = terms[move - 1]
                    move -= 1
                }
                top[slot] = f
                terms[slot] = term
                filled = min(filled + 1, k)
            }
        }
    }

    /// The user's raw value of feature f.
    func value(row: Int, feature f: Int) -> Double { table.value(row: row, feature: f) }

    /// The reasons of one row, strongest first.
    public func reasons(row: Int) -> [(feature: String, value: Double, contribution: Double)] {
        var top = [Int](repeating: 0, count: k), terms = [Double](repeating: 0, count: k)
        strongest(row: row, top: &top, terms: &terms)
        return (0..<k).map { (names[top[$0]], value(row: row, feature: top[$0]), terms[$0]) }
    }
}
