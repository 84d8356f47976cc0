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
        (rocAUC, averagePrecision) = curveAreas(labels: labels, scores: probabilities, positives: positive.support, negatives: negative.support)
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

/// Calls `body` with each curve point, from the highest score down. Each class's scores
/// are sorted apart and walked together: 8 bytes a row and no list of points.
private func forEachCurvePoint(labels: [UInt8], scores: [Double], _ body: (CurvePoint) -> Void) {
    let positiveCount = labels.reduce(0) { $0 + Int($1) }
    var positive: [Double] = []
    var negative: [Double] = []
    positive.reserveCapacity(positiveCount)
    negative.reserveCapacity(labels.count - positiveCount)
    for (score, label) in zip(scores, labels) {
        if label == 1 { positive.append(score) } else { negative.append(score) }
    }
    positive.sort(by: >)
    negative.sort(by: >)
    var i = 0, j = 0, tp = 0, fp = 0
    while i < positive.count || j < negative.count {
        let score: Double
        if i == positive.count { score = negative[j] } else if j == negative.count { score = positive[i] } else { score = max(positive[i], negative[j]) }
        while i < positive.count && positive[i] == score {
            tp += 1
            i += 1
        }
        while j < negative.count && negative[j] == score {
            fp += 1
            j += 1
        }
        body((tp, fp, score))
    }
}

/// Area under the ROC curve by the trapezoid rule over distinct thresholds (ties give a
/// diagonal segment), as roc_auc_score; nil when one class is missing.
public func rocAreaUnderCurve(labels: [UInt8], scores: [Double]) -> Double? {
    let positives = labels.reduce(0) { $0 + Int($1) }
    return curveAreas(labels: labels, scores: scores, positives: positives, negatives: labels.count - positives).roc
}

/// Σ (Rₖ − Rₖ₋₁) Pₖ over distinct thresholds, as average_precision_score; nil without positives.
public func averagePrecisionScore(labels: [UInt8], scores: [Double]) -> Double? {
    let positives = labels.reduce(0) { $0 + Int($1) }
    return curveAreas(labels: labels, scores: scores, positives: positives, negatives: labels.count - positives).averagePrecision
}

/// Both areas in one walk over the curve.
func curveAreas(labels: [UInt8], scores: [Double], positives: Int, negatives: Int) -> (roc: Double?, averagePrecision: Double?) {
    var area = 0.0
    var previous = (tp: 0, fp: 0)
    var total = 0.0
    var previousRecall = 0.0
    forEachCurvePoint(labels: labels, scores: scores) { point in
        area += Double(point.falsePositives - previous.fp) * Double(point.truePositives + previous.tp) / 2
        previous = (point.truePositives, point.falsePositives)
        let recall = Double(point.truePositives) / Double(positives)
        let precision = Double(point.truePositives) / Double(point.truePositives + point.falsePositives)
        total += (recall - previousRecall) * precision
        previousRecall = recall
    }
    return (positives > 0 && negatives > 0 ? area / (Double(positives) * Double(negatives)) : nil,
            positives > 0 ? total : nil)
}

/// The threshold with the highest F1 when predicting probability >= threshold, over the
/// distinct scores (the higher threshold wins a tie), and that F1.
public func bestF1Threshold(labels: [UInt8], scores: [Double]) -> (threshold: Double, f1: Double) {
    let positives = labels.reduce(0) { $0 + Int($1) }
    var best = (threshold: 0.5, f1: -1.0)
    forEachCurvePoint(labels: labels, scores: scores) { point in
        let fn = positives - point.truePositives
        let f1 = 2 * Double(point.truePositives) / Double(2 * point.truePositives + point.falsePositives + fn)
        if f1 > best.f1 { best = (point.threshold, f1) }
    }
    return best.f1 < 0 ? (0.5, 0) : best
}
