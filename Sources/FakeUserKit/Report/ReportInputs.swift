#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything fu-report reads, checked against each other.
public struct ReportInputs: Sendable {
    public var model: Model
    /// The model file as written (for the keys fu-report shows but Model does not keep).
    public var modelJSON: JSONValue
    /// The scored test users with their truth.
    public var test: ScoredUsers
    /// The test metrics: fu-score's `--metrics` keys, from the metrics file when given,
    /// else computed from the test users at the model's threshold.
    public var testMetrics: JSONValue
    /// fu-cv's output.
    public var crossValidation: JSONValue?
    /// fu-cv's `--oof` predictions.
    public var outOfFold: ScoredUsers?
    /// train.sh's `parameters` (when the metrics file is the workflow's).
    public var parameters: JSONValue?
    /// train.sh's `early_detection` (the test users' events replayed with the model's stream
    /// policy) and `early_detection_without_policy` (at the model's threshold from event 1).
    public var earlyDetection: JSONValue?
    public var earlyDetectionWithoutPolicy: JSONValue?
    public var inputDigest: String?
    /// The input data's name, shown beside its digest.
    public var inputName: String?
    /// The test users' model features, when the truth file is the labelled test features
    /// (as train.sh passes it): the mistakes are then listed with their reasons.
    public var testFeatures: FeatureTable?
    /// A previous run's test metrics (`--baseline`), shown beside these.
    public var baseline: JSONValue?
    /// When the report was made, as text; nil leaves it out (a reproducible report).
    public var date: String?

    public init(model: Model, modelJSON: JSONValue, test: ScoredUsers, testMetrics: JSONValue, crossValidation: JSONValue? = nil,
                outOfFold: ScoredUsers? = nil, parameters: JSONValue? = nil, inputDigest: String? = nil, date: String? = nil) {
        self.model = model
        self.modelJSON = modelJSON
        self.test = test
        self.testMetrics = testMetrics
        self.crossValidation = crossValidation
        self.outOfFold = outOfFold
        self.parameters = parameters
        self.inputDigest = inputDigest
        self.date = date
    }

    /// The threshold the test metrics were computed at.
    public var threshold: Double { testMetrics["threshold"]?.doubleValue ?? model.threshold }

    /// Reads the files. `metrics` is fu-score's metrics file or train.sh's (whose
    /// `test_metrics`, `cross_validation` and `parameters` are used); its confusion matrix
    /// must be the one the predictions give at its threshold, so that every number in the
    /// report describes the same scores.
    public static func load(model modelPath: String, predictions: String, truth: String, metrics: String?, crossValidation: String?,
                            outOfFold: String?, inputDigest: String?, date: String?) throws -> ReportInputs {
        let model = try Model.load(modelPath)
        let modelJSON = try readFiniteJSON(modelPath, what: "model")
        let test = try ScoredUsers.read(predictions: predictions, truth: truth)
        var inputs = ReportInputs(model: model, modelJSON: modelJSON, test: test, testMetrics: .null, inputDigest: inputDigest, date: date)
        inputs.testFeatures = try testFeatureTable(truth, model: model)
        if let metrics {
            let document = try readFiniteJSON(metrics, what: "metrics file")
            let testMetrics = document["test_metrics"] ?? document
            let location = InputLocation(file: metrics)
            guard let threshold = testMetrics["threshold"]?.doubleValue, (0...1).contains(threshold) else {
                throw ToolError.data("the metrics file has no threshold (it should be fu-score's --metrics or train.sh's metrics file)", at: location)
            }
            let computed = Metrics(labels: test.labels, probabilities: test.probabilities, threshold: threshold)
            let confusion = testMetrics["confusion_matrix"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.intValue) ?? [] }
            guard confusion == computed.confusion else {
                throw ToolError.data(
                    "the metrics file's confusion matrix \(confusion.map { "\($0)" } ?? "(none)") is not the predictions' \(computed.confusion) at threshold \(shortest(threshold)): were they made from the same scores?",
                    at: location)
            }
            inputs.testMetrics = testMetrics
            inputs.parameters = document["parameters"]
            inputs.crossValidation = document["cross_validation"]
            inputs.earlyDetection = document["early_detection"]
            inputs.earlyDetectionWithoutPolicy = document["early_detection_without_policy"]
        } else {
            inputs.testMetrics = Metrics(labels: test.labels, probabilities: test.probabilities, threshold: model.threshold).json
        }
        var crossValidationSource = metrics ?? ""
        if let crossValidation {
            inputs.crossValidation = try readFiniteJSON(crossValidation, what: "cross-validation output")
            crossValidationSource = crossValidation
        }
        if let document = inputs.crossValidation, document["per_fold"]?.arrayValue == nil {
            throw ToolError.data("the cross-validation output has no 'per_fold' (it should be fu-cv's output)",
                                 at: InputLocation(file: crossValidationSource))
        }
        if let outOfFold {
            let users = try ScoredUsers.readOutOfFold(outOfFold)
            if let rows = inputs.crossValidation?["rows"]?.intValue, rows != users.count {
                throw ToolError.data("the out-of-fold file has \(users.count) users but the cross-validation output \(rows): were they made by one fu-cv run?",
                                     at: InputLocation(file: outOfFold))
            }
            inputs.outOfFold = users
        }
        return inputs
    }
}

/// The truth file's model features, when it has every one of them (fu-split's `--truth`
/// file has only UserId and Fake: nil).
func testFeatureTable(_ path: String, model: Model) throws -> FeatureTable? {
    // Read a second time: only a regular file can be (stdin or a pipe was read for the labels).
    var info = stat()
    guard path != "-", stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    let reader = try TableReader(ByteInput(path: path))
    guard model.features.allSatisfy({ reader.column($0) != nil }) else { return nil }
    return try FeatureTable.read(reader, features: model.features)
}

/// A JSON input of the report whose numbers are all finite: an overflowing number
/// (`0.007951e3097`) is bad data, not a chart of ∞.
func readFiniteJSON(_ path: String, what: String) throws -> JSONValue {
    let document = try readJSON(path, what: what)
    if let key = document.firstNonFiniteNumber() {
        throw ToolError.data("the \(what) has a number that is not finite at '\(key)'", at: InputLocation(file: path))
    }
    return document
}

/// The report's date: SOURCE_DATE_EPOCH's (reproducible builds) when set, else now; UTC.
public func reportDate() -> String {
    var seconds = time(nil)
    if let text = getenv("SOURCE_DATE_EPOCH").map({ String(cString: $0) }), let epoch = Int(text) {
        seconds = time_t(epoch)
    }
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)) UTC"
}
