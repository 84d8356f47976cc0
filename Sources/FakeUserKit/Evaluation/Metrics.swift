/// Precision, recall, F1 and support of one class, as scikit-learn's classification_report.
public struct ClassScores: Sendable, Equatable {
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int

    var json: JSONValue {
        .object([("precision", .number(precision)), ("recall", .number(recall)), ("f1-score", .number(f1)), ("support", .integer(support))])
    }
}

/// Everything fu reports about predictions against known labels, with scikit-learn's
/// definitions: an undefined precision (no predicted positives) is 0, as its default.
public struct Metrics: Sendable, Equatable {
    public var negative: ClassScores
    public var positive: ClassScores
    public var accuracy: Double
    public var macro: ClassScores
    public var weighted: ClassScores
    /// nil when only one class is present (the area is undefined).
    public var rocAUC: Double?
    public var averagePrecision: Double?
    /// [[tn, fp], [fn, tp]]
    public var confusion: [[Int]]
    public var threshold: Double

    /// Predictions are positive when probability >= threshold.
    public init(labels: [UInt8], probabilities: [Double], threshold: Double) {
        var tp = 0, fp = 0, tn = 0, fn = 0
        for (label, probability) in zip(labels, probabilities) {
            let predicted = probability >= threshold
            switch (label == 1, predicted) {
            case (true, true): tp += 1
            case (false, true): fp += 1
            case (false, false): tn += 1
            case (true, false): fn += 1
            }
        }
        let negative = ClassScores(truePositives: tn, falsePositives: fn, falseNegatives: fp)
        let positive = ClassScores(truePositives: tp, falsePositives: fp, falseNegatives: fn)
        self.negative = negative
        self.positive = positive
        let n = Double(labels.count)
        accuracy = labels.isEmpty ? 0 : Double(tp + tn) / n
        macro = ClassScores(
            precision: (negative.precision + positive.precision) / 2, recall: (negative.recall + positive.recall) / 2,
            f1: (negative.f1 + positive.f1) / 2, support: labels.count)
        func weightedMean(_ value: (ClassScores) -> Double) -> Double {
            labels.isEmpty ? 0 : (value(negative) * Double(negative.support) + value(positive) * Double(positive.support)) / n
        }
        weighted = ClassScores(precision: weightedMean(\.precision), recall: weightedMean(\.recall), f1: weightedMean(\.f1), support: labels.count)
        let points = curvePoints(labels: labels, scores: probabilities)
        rocAUC = rocAreaUnderCurve(points, positives: positive.support, negatives: negative.support)
        averagePrecision = averagePrecisionScore(points, positives: positive.support)
        confusion = [[tn, fp], [fn, tp]]
        self.threshold = threshold
    }

    /// The keys of classification_report(output_dict=True), then the curve metrics.
    public var json: JSONValue {
        .object([
            ("0", negative.json), ("1", positive.json), ("accuracy", .number(accuracy)),
            ("macro avg", macro.json), ("weighted avg", weighted.json),
            ("roc_auc", .finite(rocAUC)), ("average_precision", .finite(averagePrecision)),
            ("confusion_matrix", .array(confusion.map { .array($0.map { .integer($0) }) })),
            ("threshold", .number(threshold)),
        ])
    }
}

extension ClassScores {
    init(truePositives tp: Int, falsePositives fp: Int, falseNegatives fn: Int) {
        precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        f1 = 2 * tp + fp + fn == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn)
        support = tp + fn
    }
}

/// Positives and negatives at or above each distinct score, from the highest score down:
/// the points of scikit-learn's ROC and precision-recall curves.
typealias CurvePoint = (truePositives: Int, falsePositives: Int, threshold: Double)

private func curvePoints(labels: [UInt8], scores: [Double]) -> [CurvePoint] {
    // Scores with their labels side by side, sorted once: no index indirection.
    let pairs = zip(scores, labels).sorted { $0.0 > $1.0 }
    var points: [CurvePoint] = []
    var tp = 0, fp = 0
    for position in pairs.indices {
        if pairs[position].1 == 1 { tp += 1 } else { fp += 1 }
        if position == pairs.count - 1 || pairs[position + 1].0 != pairs[position].0 {
            points.append((tp, fp, pairs[position].0))
        }
    }
    return points
}

/// The curve points above, for callers that draw or save the curves (fu-report): one per
/// distinct score, from the highest down, with the positives and negatives at or above it.
public func rankingCurve(labels: [UInt8], scores: [Double]) -> [(truePositives: Int, falsePositives: Int, threshold: Double)] {
    curvePoints(labels: labels, scores: scores)
}

/// Area under the ROC curve by the trapezoid rule over distinct thresholds (ties give a
/// diagonal segment), as roc_auc_score; nil when one class is missing.
public func rocAreaUnderCurve(labels: [UInt8], scores: [Double]) -> Double? {
    let positives = labels.reduce(0) { $0 + Int($1) }
    return rocAreaUnderCurve(curvePoints(labels: labels, scores: scores), positives: positives, negatives: labels.count - positives)
}

func rocAreaUnderCurve(_ points: [CurvePoint], positives: Int, negatives: Int) -> Double? {
    guard positives > 0 && negatives > 0 else { return nil }
    var area = 0.0
    var previous = (tp: 0, fp: 0)
    for point in points {
        area += Double(point.falsePositives - previous.fp) * Double(point.truePositives + previous.tp) / 2
        previous = (point.truePositives, point.falsePositives)
    }
    return area / (Double(positives) * Double(negatives))
}

/// Σ (Rₖ − Rₖ₋₁) Pₖ over distinct thresholds, as average_precision_score; nil without positives.
public func averagePrecisionScore(labels: [UInt8], scores: [Double]) -> Double? {
    averagePrecisionScore(curvePoints(labels: labels, scores: scores), positives: labels.reduce(0) { $0 + Int($1) })
}

func averagePrecisionScore(_ points: [CurvePoint], positives: Int) -> Double? {
    guard positives > 0 else { return nil }
    var total = 0.0
    var previousRecall = 0.0
    for point in points {
        let recall = Double(point.truePositives) / Double(positives)
        let precision = Double(point.truePositives) / Double(point.truePositives + point.falsePositives)
        total += (recall - previousRecall) * precision
        previousRecall = recall
    }
    return total
}

/// The threshold with the highest F1 when predicting probability >= threshold, over the
/// distinct scores (the higher threshold wins a tie), and that F1.
public func bestF1Threshold(labels: [UInt8], scores: [Double]) -> (threshold: Double, f1: Double) {
    let positives = labels.reduce(0) { $0 + Int($1) }
    var best = (threshold: 0.5, f1: -1.0)
    for point in curvePoints(labels: labels, scores: scores) {
        let fn = positives - point.truePositives
        let f1 = 2 * Double(point.truePositives) / Double(2 * point.truePositives + point.falsePositives + fn)
        if f1 > best.f1 { best = (point.threshold, f1) }
    }
    return best.f1 < 0 ? (0.5, 0) : best
}
