#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// scikit-learn's log_loss (the true class's probability clipped to [ε, 1 − ε], ε = 2.2e-16); nil on no rows.
    public var logLoss: Double?
    /// brier_score_loss: mean (label − probability)²; nil on no rows.
    public var brierScore: Double?
    /// balanced_accuracy_score: mean recall over the classes present.
    public var balancedAccuracy: Double
    /// matthews_corrcoef (0 when a row or column of the confusion matrix is empty).
    public var matthewsCorrcoef: Double
    /// Precision among the k most probable users, for k in `Metrics.topCounts` capped at
    /// the number of rows; users tied at the k-th probability count by their share.
    public var precisionAtK: [RankedScore]
    /// The largest recall on the ROC curve whose false-positive rate is at most x, for x in
    /// `Metrics.falsePositiveRates`; nil when a class is missing.
    public var recallAtFPR: [(rate: Double, recall: Double?)]

    public static let topCounts = [10, 100, 1000]
    public static let falsePositiveRates = [0.01, 0.05]

    public static func == (x: Metrics, y: Metrics) -> Bool {
        x.negative == y.negative && x.positive == y.positive && x.accuracy == y.accuracy && x.macro == y.macro
            && x.weighted == y.weighted && x.rocAUC == y.rocAUC && x.averagePrecision == y.averagePrecision
            && x.confusion == y.confusion && x.threshold == y.threshold && x.logLoss == y.logLoss && x.brierScore == y.brierScore
            && x.balancedAccuracy == y.balancedAccuracy && x.matthewsCorrcoef == y.matthewsCorrcoef
            && x.precisionAtK == y.precisionAtK && x.recallAtFPR.elementsEqual(y.recallAtFPR, by: { $0 == $1 })
    }

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
        // One walk over the ranking gives every curve metric, without a list of its points
        // (at millions of rows that list was the peak of fu-cv's memory).
        var areas = CurveAreas(positives: positive.support, negatives: negative.support)
        var queue = ReviewQueueScores(rows: labels.count, positives: positive.support, negatives: negative.support)
        forEachCurvePoint(labels: labels, scores: probabilities) { point in
            areas.add(point)
            queue.add(point)
        }
        (rocAUC, averagePrecision) = areas.result
        precisionAtK = queue.precisionAtK
        recallAtFPR = queue.recallAtFPR
        confusion = [[tn, fp], [fn, tp]]
        self.threshold = threshold
        (logLoss, brierScore) = probabilityLosses(labels: labels, probabilities: probabilities)
        let recalls = [negative, positive].filter { $0.support > 0 }.map(\.recall)
        balancedAccuracy = recalls.isEmpty ? 0 : recalls.reduce(0, +) / Double(recalls.count)
        matthewsCorrcoef = matthews(tp: tp, fp: fp, tn: tn, fn: fn)
    }

    /// The keys of classification_report(output_dict=True), then the curve metrics.
    public var json: JSONValue {
        .object([
            ("0", negative.json), ("1", positive.json), ("accuracy", .number(accuracy)),
            ("macro avg", macro.json), ("weighted avg", weighted.json),
            ("roc_auc", .finite(rocAUC)), ("average_precision", .finite(averagePrecision)),
            ("confusion_matrix", .array(confusion.map { .array($0.map { .integer($0) }) })),
            ("threshold", .number(threshold)),
            ("log_loss", .finite(logLoss)), ("brier_score", .finite(brierScore)),
            ("balanced_accuracy", .number(balancedAccuracy)), ("matthews_corrcoef", .number(matthewsCorrcoef)),
            ("precision_at_k", .object(precisionAtK.map { (String($0.k), .number($0.value)) })),
            ("recall_at_fpr", .object(recallAtFPR.map { (String($0.rate), .finite($0.recall)) })),
        ])
    }
}

/// A score of the top k users.
public struct RankedScore: Sendable, Equatable {
    public var k: Int
    public var value: Double
}

/// log_loss and brier_score_loss of the probabilities, as scikit-learn computes them.
func probabilityLosses(labels: [UInt8], probabilities: [Double]) -> (Double?, Double?) {
    guard !labels.isEmpty else { return (nil, nil) }
    let epsilon = Double.ulpOfOne
    var logs = 0.0, brier = 0.0
    for (label, probability) in zip(labels, probabilities) {
        // As scikit-learn: the probability of the true class, clipped to [ε, 1 − ε].
        logs -= log(min(max(label == 1 ? probability : 1 - probability, epsilon), 1 - epsilon))
        let error = Double(label) - probability
        brier += error * error
    }
    let n = Double(labels.count)
    return (logs / n, brier / n)
}

/// matthews_corrcoef from the confusion matrix, in scikit-learn's covariance form.
func matthews(tp: Int, fp: Int, tn: Int, fn: Int) -> Double {
    let n = Double(tp + fp + tn + fn)
    let trueSums = (Double(tn + fp), Double(fn + tp)), predictedSums = (Double(tn + fn), Double(fp + tp))
    let covariance = Double(tp + tn) * n - (trueSums.0 * predictedSums.0 + trueSums.1 * predictedSums.1)
    let predictedVariance = n * n - (predictedSums.0 * predictedSums.0 + predictedSums.1 * predictedSums.1)
    let trueVariance = n * n - (trueSums.0 * trueSums.0 + trueSums.1 * trueSums.1)
    guard predictedVariance * trueVariance != 0 else { return 0 }
    return covariance / (trueVariance * predictedVariance).squareRoot()
}

/// Precision among the k most probable users (`Metrics.topCounts`, capped at the rows;
/// within a group of tied scores the positives are shared out evenly) and recall at each
/// of `Metrics.falsePositiveRates`, from the curve points in order, highest score first.
struct ReviewQueueScores {
    private let ks: [Int]
    private var precisions: [Double?]
    private var recalls: [Double]
    private let positives: Int
    private let negatives: Int
    private var previous = (tp: 0, fp: 0)

    init(rows: Int, positives: Int, negatives: Int) {
        var ks: [Int] = []
        for k in Metrics.topCounts.map({ min($0, rows) }) where k > 0 && !ks.contains(k) { ks.append(k) }
        self.ks = ks
        precisions = ks.map { _ in nil }
        recalls = Metrics.falsePositiveRates.map { _ in 0 }
        self.positives = positives
        self.negatives = negatives
    }

    mutating func add(_ point: CurvePoint) {
        let taken = point.truePositives + point.falsePositives
        for (index, k) in ks.enumerated() where precisions[index] == nil && taken >= k {
            let groupSize = taken - previous.tp - previous.fp
            let groupPositives = point.truePositives - previous.tp
            let inside = k - previous.tp - previous.fp
            let found = Double(previous.tp) + Double(groupPositives) * Double(inside) / Double(groupSize)
            precisions[index] = found / Double(k)
        }
        if positives > 0 && negatives > 0 {
            for (index, rate) in Metrics.falsePositiveRates.enumerated() where Double(point.falsePositives) / Double(negatives) <= rate {
                recalls[index] = max(recalls[index], Double(point.truePositives) / Double(positives))
            }
        }
        previous = (point.truePositives, point.falsePositives)
    }

    var precisionAtK: [RankedScore] { zip(ks, precisions).map { RankedScore(k: $0, value: $1 ?? 0) } }
    var recallAtFPR: [(rate: Double, recall: Double?)] {
        zip(Metrics.falsePositiveRates, recalls).map { ($0, positives > 0 && negatives > 0 ? $1 : nil) }
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
func forEachCurvePoint(labels: [UInt8], scores: [Double], _ body: (CurvePoint) -> Void) {
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

/// The curve points as an array (precision at k, recall at a false-positive rate, fu-report).
func curvePoints(labels: [UInt8], scores: [Double]) -> [CurvePoint] {
    var points: [CurvePoint] = []
    forEachCurvePoint(labels: labels, scores: scores) { points.append($0) }
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
    return curveAreas(labels: labels, scores: scores, positives: positives, negatives: labels.count - positives).roc
}

/// Σ (Rₖ − Rₖ₋₁) Pₖ over distinct thresholds, as average_precision_score; nil without positives.
public func averagePrecisionScore(labels: [UInt8], scores: [Double]) -> Double? {
    let positives = labels.reduce(0) { $0 + Int($1) }
    return curveAreas(labels: labels, scores: scores, positives: positives, negatives: labels.count - positives).averagePrecision
}

/// Both areas in one walk over the curve.
func curveAreas(labels: [UInt8], scores: [Double], positives: Int, negatives: Int) -> (roc: Double?, averagePrecision: Double?) {
    var areas = CurveAreas(positives: positives, negatives: negatives)
    forEachCurvePoint(labels: labels, scores: scores) { areas.add($0) }
    return areas.result
}

/// ROC AUC (trapezoids) and average precision, from the curve points in order.
struct CurveAreas {
    let positives: Int
    let negatives: Int
    private var area = 0.0
    private var previous = (tp: 0, fp: 0)
    private var total = 0.0
    private var previousRecall = 0.0

    init(positives: Int, negatives: Int) {
        self.positives = positives
        self.negatives = negatives
    }

    mutating func add(_ point: CurvePoint) {
        area += Double(point.falsePositives - previous.fp) * Double(point.truePositives + previous.tp) / 2
        previous = (point.truePositives, point.falsePositives)
        let recall = Double(point.truePositives) / Double(positives)
        let precision = Double(point.truePositives) / Double(point.truePositives + point.falsePositives)
        total += (recall - previousRecall) * precision
        previousRecall = recall
    }

    var result: (roc: Double?, averagePrecision: Double?) {
        (positives > 0 && negatives > 0 ? area / (Double(positives) * Double(negatives)) : nil, positives > 0 ? total : nil)
    }
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
