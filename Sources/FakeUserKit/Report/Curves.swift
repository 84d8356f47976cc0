/// A curve as a small table of numbers: what fu-report draws and what it saves as CSV.
public struct CurveTable: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[Double]]

    public init(columns: [String], rows: [[Double]] = []) {
        self.columns = columns
        self.rows = rows
    }

    public func column(_ name: String) -> [Double] {
        guard let index = columns.firstIndex(of: name) else { return [] }
        return rows.map { $0[index] }
    }

    /// CSV with a header; numbers as every fu table prints them (`%.17g`, integral values
    /// without a point, `inf` for the curves' starting threshold).
    public func write(to output: ByteOutput) throws {
        let writer = try TableWriter(output, format: .csv, columns: columns)
        for row in rows {
            for value in row { try writer.field(value) }
            try writer.endRow()
        }
    }
}

/// The curves of one set of scored users, computed once from every distinct threshold.
public struct EvaluationCurves: Sendable, Equatable {
    /// threshold, fpr, tpr, true_positives, false_positives: scikit-learn's roc_curve
    /// without dropping collinear points, starting at (0, 0) with threshold inf.
    public var roc: CurveTable
    /// threshold, precision, recall, true_positives, false_positives: from the highest
    /// threshold down, starting at recall 0 and precision 1 (scikit-learn's end point).
    public var precisionRecall: CurveTable
    /// bin, lower, upper, count, mean_predicted, fraction_positive: equal-width bins of the
    /// probability as scikit-learn's calibration_curve (bins with no user left out).
    public var calibration: CurveTable
    /// threshold, precision, recall, f1, true_positives, false_positives, false_negatives,
    /// true_negatives when predicting probability >= threshold, lowest threshold first.
    public var threshold: CurveTable

    /// The reliability diagram's bins, as calibration_curve's default.
    public static let calibrationBinCount = 10

    public init(_ users: ScoredUsers, bins: Int = EvaluationCurves.calibrationBinCount) {
        let points = rankingCurve(labels: users.labels, scores: users.probabilities)
        let positives = users.positives
        let negatives = users.count - positives
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

        roc = CurveTable(columns: ["threshold", "fpr", "tpr", "true_positives", "false_positives"], rows: [[.infinity, 0, 0, 0, 0]])
        precisionRecall = CurveTable(columns: ["threshold", "precision", "recall", "true_positives", "false_positives"],
                                     rows: [[.infinity, 1, 0, 0, 0]])
        threshold = CurveTable(columns: ["threshold", "precision", "recall", "f1", "true_positives", "false_positives",
                                         "false_negatives", "true_negatives"])
        for point in points {
            let tp = point.truePositives, fp = point.falsePositives
            let fn = positives - tp, tn = negatives - fp
            roc.rows.append([point.threshold, ratio(fp, negatives), ratio(tp, positives), Double(tp), Double(fp)])
            let precision = ratio(tp, tp + fp), recall = ratio(tp, positives)
            precisionRecall.rows.append([point.threshold, precision, recall, Double(tp), Double(fp)])
            threshold.rows.append([point.threshold, precision, recall, ratio(2 * tp, 2 * tp + fp + fn),
                                   Double(tp), Double(fp), Double(fn), Double(tn)])
        }
        threshold.rows.reverse()
        calibration = calibrationBins(users, bins: bins)
    }

    /// The four tables under the file names fu-report's `--curves-dir` uses.
    public var files: [(name: String, table: CurveTable)] {
        [("roc.csv", roc), ("pr.csv", precisionRecall), ("calibration.csv", calibration), ("threshold.csv", threshold)]
    }
}

/// Bins as numpy.linspace(0, 1, bins + 1) and calibration_curve's searchsorted: a
/// probability on an inner edge belongs to the lower bin; 0 and 1 to the outer ones.
func calibrationBins(_ users: ScoredUsers, bins: Int) -> CurveTable {
    let step = 1 / Double(bins)
    let edges = (0...bins).map { $0 == bins ? 1 : Double($0) * step }
    var count = [Int](repeating: 0, count: bins)
    var sum = [Double](repeating: 0, count: bins)
    var positives = [Int](repeating: 0, count: bins)
    for (label, probability) in zip(users.labels, users.probabilities) {
        var bin = 0
        while bin < bins - 1 && edges[bin + 1] < probability { bin += 1 }
        count[bin] += 1
        sum[bin] += probability
        positives[bin] += Int(label)
    }
    var table = CurveTable(columns: ["bin", "lower", "upper", "count", "mean_predicted", "fraction_positive"])
    for bin in 0..<bins where count[bin] > 0 {
        table.rows.append([Double(bin), edges[bin], edges[bin + 1], Double(count[bin]),
                           sum[bin] / Double(count[bin]), Double(positives[bin]) / Double(count[bin])])
    }
    return table
}

/// At most `limit` rows for drawing: all of them when there are few enough, else `limit`
/// rows evenly spaced by position, always keeping the first and the last.
public func downsample<Element>(_ items: [Element], limit: Int = 500) -> [Element] {
    guard items.count > limit, limit >= 2 else { return items }
    let last = items.count - 1
    return (0..<limit).map { items[($0 * last + (limit - 1) / 2) / (limit - 1)] }
}
