/// Thresholds a review team can reason about, chosen on out-of-fold scores: how many
/// users it can look at, or what a wrong decision costs. Both flag users whose score is at
/// least the threshold, and both pick the threshold among the distinct scores.

/// The threshold that flags as many users as the capacity allows: the lowest distinct
/// score t with #(score ≥ t) ≤ ⌊share · n⌋. Users tied at a score are flagged together, so
/// fewer may be flagged than the capacity. An error when even the users tied at the top
/// score are more than the capacity.
public func capacityThreshold(scores: [Double], share: Double) throws -> (threshold: Double, flagged: Int) {
    let limit = Int((share * Double(scores.count) + 1e-9).rounded(.down))
    let sorted = scores.sorted(by: >)
    guard let best = lowestScoreWithin(sorted[...], limit: limit) else {
        let top = sorted.prefix { $0 == sorted.first }.count
        throw ToolError.data(
            "--threshold capacity:\(share) flags no user: \(groupedDigits(top)) user\(top == 1 ? "" : "s") share the highest out-of-fold score, "
                + "more than \(share) of \(groupedDigits(scores.count)) (\(limit))")
    }
    return (best.threshold, best.users)
}

/// The threshold of least expected cost A·FP + B·FN (`falsePositive` A, `falseNegative`
/// B), over the distinct scores and, when every score is below 1, flagging no one
/// (threshold 1). Of equal costs the higher threshold wins: fewer users to act on.
public func leastCostThreshold(
    labels: [UInt8], scores: [Double], falsePositive: Double, falseNegative: Double
) -> (threshold: Double, cost: Double, falsePositives: Int, falseNegatives: Int) {
    let positives = labels.reduce(0) { $0 + Int($1) }
    var best: (threshold: Double, cost: Double, falsePositives: Int, falseNegatives: Int)?
    if scores.allSatisfy({ $0 < 1 }) {
        best = (1, falseNegative * Double(positives), 0, positives)
    }
    forEachCurvePoint(labels: labels, scores: scores) { point in
        let fn = positives - point.truePositives
        let cost = falsePositive * Double(point.falsePositives) + falseNegative * Double(fn)
        if best == nil || cost < best!.cost { best = (point.threshold, cost, point.falsePositives, fn) }
    }
    return best ?? (1, 0, 0, 0)
}

/// Of scores sorted from the highest down, the lowest distinct score t with at most
/// `limit` scores ≥ t, and how many those are; nil when the top score's ties are more.
func lowestScoreWithin(_ sorted: ArraySlice<Double>, limit: Int) -> (threshold: Double, users: Int)? {
    var best: (threshold: Double, users: Int)?
    var index = sorted.startIndex
    while index < sorted.endIndex {
        let score = sorted[index]
        while index < sorted.endIndex && sorted[index] == score { index += 1 }
        let users = index - sorted.startIndex
        guard users <= limit else { break }
        best = (score, users)
    }
    return best
}
