/// Row indices of each class, shuffled by one seeded generator: the basis of every
/// stratified fold and split, the same on every machine for a seed.
func shuffledByClass(labels: [UInt8], seed: UInt64) -> [[Int]] {
    var random = SplitMix64(seed: seed)
    return [0, 1].map { label -> [Int] in
        var rows = labels.indices.filter { labels[$0] == label }
        for i in stride(from: rows.count - 1, to: 0, by: -1) {
            rows.swapAt(i, random.below(i + 1))
        }
        return rows
    }
}

/// Stratified k-fold: each class's shuffled rows are dealt round-robin to the folds, so
/// fold sizes per class differ by at most one. Returns the fold of every row.
public func stratifiedFolds(labels: [UInt8], folds: Int, seed: UInt64) throws -> [Int] {
    let byClass = shuffledByClass(labels: labels, seed: seed)
    for (label, rows) in byClass.enumerated() where rows.count < folds {
        throw ToolError.data("only \(rows.count) rows with Fake=\(label), fewer than the \(folds) folds")
    }
    var fold = [Int](repeating: 0, count: labels.count)
    var dealt = 0  // the deal continues across classes, so total fold sizes differ by at most one too
    for rows in byClass {
        for row in rows {
            fold[row] = dealt % folds
            dealt += 1
        }
    }
    return fold
}

/// The test rows of a stratified split holding `testCount` rows: each class gives its
/// share (largest remainders round), taken from the front of its shuffled rows.
public func stratifiedTestRows(labels: [UInt8], testCount: Int, seed: UInt64) -> [Bool] {
    let byClass = shuffledByClass(labels: labels, seed: seed)
    let n = labels.count
    guard n > 0 else { return [] }
    let exact = byClass.map { Double(testCount) * Double($0.count) / Double(n) }
    var take = exact.map { Int($0.rounded(.down)) }
    var left = testCount - take.reduce(0, +)
    for label in [0, 1].sorted(by: { exact[$0] - Double(take[$0]) > exact[$1] - Double(take[$1]) }) where left > 0 {
        if take[label] < byClass[label].count {
            take[label] += 1
            left -= 1
        }
    }
    var isTest = [Bool](repeating: false, count: n)
    for (label, rows) in byClass.enumerated() {
        for row in rows.prefix(take[label]) { isTest[row] = true }
    }
    return isTest
}
