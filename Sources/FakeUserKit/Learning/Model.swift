#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The version of the fu tools, recorded in every model.
public let fuVersion = "0.1.0"

/// How a model was trained: the facts docs/design.md asks the model file to carry.
public struct TrainingFacts: Sendable, Equatable {
    public var rows: Int
    public var positives: Int
    public var cost: Double
    public var weighting: ClassWeighting
    public var classWeights: (Double, Double)
    public var iterations: Int
    public var converged: Bool
    public var gradientNorm: Double
    /// nil in models written before fu recorded it.
    public var stopReason: StopReason?
    /// "default", "fixed" or "auto (k-fold out-of-fold F1)".
    public var thresholdSource: String
    /// The rule fu-fit chose the threshold by, as given (`capacity:0.05`, `cost:fp=1,fn=10`);
    /// nil for a fixed threshold. The report draws its curve.
    public var thresholdRule: String? = nil
    public var seed: UInt64?
    public var folds: Int?
    public var toolVersion = fuVersion

    public static func == (a: TrainingFacts, b: TrainingFacts) -> Bool {
        a.rows == b.rows && a.positives == b.positives && a.cost == b.cost && a.weighting == b.weighting
            && a.classWeights == b.classWeights && a.iterations == b.iterations && a.converged == b.converged
            && a.gradientNorm == b.gradientNorm && a.stopReason == b.stopReason && a.thresholdSource == b.thresholdSource && a.thresholdRule == b.thresholdRule && a.seed == b.seed
            && a.folds == b.folds && a.toolVersion == b.toolVersion
    }
}

/// A trained logistic regression: scaler, coefficients (standardized space), threshold.
public struct Model: Sendable, Equatable {
    public static let formatTag = "fu-model"
    /// The newest format this fu reads and writes. A model is written with the oldest
    /// version that holds it: 1, 2 when it has a calibration, 3 when it has a stream
    /// policy, 4 when it has decision bands, so that an older reader refuses it instead of
    /// silently ignoring what it cannot apply.
    public static let formatVersion = 4

    /// The version this model is written with.
    public var formatVersion: Int { decisionBands != nil ? 4 : streamPolicy != nil ? 3 : calibration != nil ? 2 : 1 }

    public var features: [String]
    /// The features fu-featurize makes per event type, in `features` order: the only ones
    /// that read as 0 when a table to score lacks them (a batch may not hold every type).
    /// Models written before fu recorded it get them from their feature names.
    public var eventTypeColumns: [String]
    public var scaler: StandardScaler
    public var coefficients: [Double]
    public var intercept: Double
    public var threshold: Double
    public var training: TrainingFacts
    /// Platt scaling of the decision value; nil: the regression's own sigmoid.
    public var calibration: Calibration?
    /// Each feature's training deciles, for fu-drift; nil in models fitted before fu kept
    /// them. It changes no score, so it does not raise the format version: an fu that
    /// ignores it scores the model the same.
    public var trainingDistribution: TrainingDistribution?
    /// Each feature's mean by class and the strongly correlated pairs, for the report;
    /// nil in older models. Changes no score either.
    public var featureSummary: FeatureSummary?
    /// When fu-watch flags a user as its events arrive; nil: at `threshold` from the first event.
    public var streamPolicy: StreamPolicy?
    /// Allow / review / block by score; nil: the scorers write no Decision column.
    public var decisionBands: DecisionBands?

    public init(
        features: [String], scaler: StandardScaler, coefficients: [Double], intercept: Double, threshold: Double,
        training: TrainingFacts, calibration: Calibration? = nil, eventTypeColumns: [String]? = nil,
        trainingDistribution: TrainingDistribution? = nil
    ) {
        let perType = eventTypeColumns ?? Model.perEventTypeColumns(of: features)
        self.features = features
        self.eventTypeColumns = perType
        self.scaler = scaler
        self.coefficients = coefficients
        self.intercept = intercept
        self.threshold = threshold
        self.training = training
        self.calibration = calibration
        self.trainingDistribution = trainingDistribution
    }

    /// Events give only fu-featurize's columns: a model with a column of the user's own
    /// (account_age_days) cannot score events (`who`: fu-watch, fu-serve).
    public func checkScorableFromEvents(by who: String) throws {
        let perType = Set(eventTypeColumns)
        let fixed = Set(FeatureSet.referenceNames + FeatureSet.extendedNames)
        if let foreign = features.first(where: { !fixed.contains($0) && !perType.contains($0) }) {
            throw ToolError.data("the model uses feature '\(foreign)', which events do not give: \(who) scores models trained on fu-featurize's columns")
        }
    }

    /// What a model without `event_type_columns` takes for them: the per-type pairs
    /// among its own features.
    static func perEventTypeColumns(of features: [String]) -> [String] {
        let perType = FeatureSet.perEventTypeColumns(features)
        return features.filter { perType.contains($0) }
    }

    /// Small enough that a sum of millions of terms cannot overflow.
    static let largestTerm = 1e290

    /// Feature f's signed share of the log-odds for a raw value: coefficient × standardized value.
    @inline(__always)
    public func contribution(_ f: Int, _ value: Double) -> Double {
        // Finite input far outside the training range can overflow here (1.7e308 minus
        // a negative mean); clamped, each term stays finite and so does the sum, so a
        // probability is never NaN. Ordinary values are not changed.
        let term = coefficients[f] * ((value - scaler.mean[f]) / scaler.scale[f])
        return term.isNaN ? 0 : min(max(term, -Model.largestTerm), Model.largestTerm)
    }

    /// The log-odds of the regression (before any calibration) for one row of raw values.
    @inline(__always)
    public func decisionValue(_ row: UnsafeBufferPointer<Double>) -> Double {
        var eta = intercept
        for f in 0..<coefficients.count {
            let term = coefficients[f] * ((row[f] - scaler.mean[f]) / scaler.scale[f])
            guard abs(term) <= Model.hugeTerm else { return hugeDecisionValue(row) }
            eta += term
        }
        return eta
    }

    /// Past this a term decides the probability (0 or 1) whatever the others add.
    static let hugeTerm = 1e100

    /// The log-odds of a row with a term beyond ±1e100 (values far outside the training
    /// range): ±`largestTerm`, by which side's huge terms are larger. Added as doubles
    /// they would overflow, or, clamped, cancel and leave a middle probability. Compared
    /// here as logarithms of their magnitudes, which stay finite for any finite value.
    func hugeDecisionValue(_ row: UnsafeBufferPointer<Double>) -> Double {
        var positive = -Double.infinity, negative = -Double.infinity  // log of each side's sum
        func logSum(_ a: Double, _ b: Double) -> Double {
            let high = max(a, b), low = min(a, b)
            return high == -.infinity ? high : high + log1p(exp(low - high))
        }
        for f in 0..<coefficients.count {
            // Halved first so that the difference of two finite doubles cannot overflow.
            let difference = row[f] / 2 - scaler.mean[f] / 2
            guard coefficients[f] != 0, difference != 0, !difference.isNaN else { continue }
            let magnitude = log(abs(coefficients[f])) + log(abs(difference)) + log(2.0) - log(scaler.scale[f])
            guard magnitude > log(Model.hugeTerm) else { continue }
            if (coefficients[f] > 0) == (difference > 0) {
                positive = logSum(positive, magnitude)
            } else {
                negative = logSum(negative, magnitude)
            }
        }
        if positive == negative { return 0 }
        return positive > negative ? Model.largestTerm : -Model.largestTerm
    }

    /// P(Fake = 1) for one row of raw (unstandardized) feature values, in `features` order:
    /// the calibrated probability when the model has a calibration.
    @inline(__always)
    public func probability(_ row: UnsafeBufferPointer<Double>) -> Double {
        probability(decision: decisionValue(row))
    }

    /// The probability for a decision value: calibrated when the model has a calibration.
    @inline(__always)
    public func probability(decision eta: Double) -> Double {
        if let calibration { return calibration.probability(eta) }
        return sigmoid(eta)
    }

    /// Decision values for the given rows, in that order.
    public func decisionValues(_ table: FeatureTable, rows: [Int]) -> [Double] {
        let width = table.featureCount
        return table.values.withUnsafeBufferPointer { values in
            rows.map { decisionValue(UnsafeBufferPointer(rebasing: values[($0 * width)..<(($0 + 1) * width)])) }
        }
    }

    /// Probabilities for every row of a table whose columns are this model's features.
    public func probabilities(_ table: FeatureTable) -> [Double] {
        probabilities(table, rows: Array(0..<table.rowCount))
    }

    /// Probabilities for the given rows only, in that order.
    public func probabilities(_ table: FeatureTable, rows: [Int]) -> [Double] {
        let width = table.featureCount
        return table.values.withUnsafeBufferPointer { values in
            rows.map { probability(UnsafeBufferPointer(rebasing: values[($0 * width)..<(($0 + 1) * width)])) }
        }
    }

    public var json: JSONValue {
        .object([
            ("format", .string(Model.formatTag)),
            ("version", .integer(formatVersion)),
            ("kind", .string("logistic_regression")),
            ("features", .array(features.map { .string($0) })),
            ("event_type_columns", .array(eventTypeColumns.map { .string($0) })),
            ("scaler", .object([("mean", .numbers(scaler.mean)), ("scale", .numbers(scaler.scale))])),
            ("coefficients", .numbers(coefficients)),
            ("intercept", .number(intercept)),
            ("threshold", .number(threshold)),
        ] + (calibration.map { [("calibration", $0.json)] } ?? []) + (streamPolicy.map { [("stream_policy", $0.json)] } ?? [])
          + (decisionBands.map { [("decision_bands", $0.json)] } ?? []) + [
            ("training", .object([
                ("rows", .integer(training.rows)),
                ("positives", .integer(training.positives)),
                ("C", .number(training.cost)),
                ("class_weight", .string(training.weighting.rawValue)),
                ("class_weights", .numbers([training.classWeights.0, training.classWeights.1])),
                ("solver", .string("newton-cholesky")),
                ("iterations", .integer(training.iterations)),
                ("converged", .bool(training.converged)),
                ("gradient_norm", .finite(training.gradientNorm)),
                ("stop_reason", training.stopReason.map { .string($0.rawValue) } ?? .null),
                ("threshold_source", .string(training.thresholdSource)),
            ] + (training.thresholdRule.map { [("threshold_rule", .string($0))] } ?? []) + [
                ("seed", training.seed.map { .integer(Int(truncatingIfNeeded: $0)) } ?? .null),
                ("folds", training.folds.map { .integer($0) } ?? .null),
                ("tool_version", .string(training.toolVersion)),
            ])),
        ] + (trainingDistribution.map { [("training_distribution", $0.json(names: features))] } ?? [])
          + (featureSummary.map { [("feature_summary", $0.json(names: features))] } ?? []))
    }

    /// Reads and validates a model file: format tag and version, lengths, finite values.
    public static func load(_ path: String) throws -> Model {
        try parse(try readDocument(path, what: "model file"), name: path)
    }

    /// Validates a model file's bytes (plain or zstd-decoded); `name` goes into errors.
    public static func parse(_ bytes: [UInt8], name path: String) throws -> Model {
        let document = try parseJSON(bytes, name: path, what: "model")
        let location = InputLocation(file: path)
        func fail(_ message: String) -> ToolError { ToolError.data("invalid model: \(message)", at: location) }
        guard document["format"]?.stringValue == formatTag else { throw fail("not an fu model (format tag is not '\(formatTag)')") }
        guard let version = document["version"]?.intValue else { throw fail("no version") }
        guard (1...formatVersion).contains(version) else {
            throw fail("format version \(version) is not supported (this fu reads versions 1 to \(formatVersion))")
        }
        guard document["kind"]?.stringValue == "logistic_regression" else { throw fail("kind is not 'logistic_regression'") }
        func numbers(_ value: JSONValue?, _ name: String) throws -> [Double] {
            guard let items = value?.arrayValue else { throw fail("'\(name)' is missing or not an array") }
            return try items.map { item in
                guard let number = item.doubleValue, number.isFinite else { throw fail("'\(name)' has a value that is not a finite number") }
                return number
            }
        }
        func number(_ value: JSONValue?, _ name: String) throws -> Double {
            guard let number = value?.doubleValue, number.isFinite else { throw fail("'\(name)' is missing or not a finite number") }
            return number
        }
        guard let featureItems = document["features"]?.arrayValue else { throw fail("'features' is missing") }
        let features = try featureItems.map { item -> String in
            guard let name = item.stringValue else { throw fail("'features' must be names") }
            return name
        }
        do { try checkFeatureNames(features) } catch let error as ToolError { throw fail("'features': \(error.message)") }
        var eventTypeColumns: [String]?
        if let items = document["event_type_columns"], items != .null {
            let names = try items.arrayValue?.map { item -> String in
                guard let name = item.stringValue, features.contains(name) else { throw fail("'event_type_columns' must name features") }
                return name
            }
            guard let names else { throw fail("'event_type_columns' must be an array of feature names") }
            eventTypeColumns = names
        }
        let mean = try numbers(document["scaler"]?["mean"], "scaler.mean")
        let scale = try numbers(document["scaler"]?["scale"], "scaler.scale")
        let coefficients = try numbers(document["coefficients"], "coefficients")
        guard !features.isEmpty, mean.count == features.count, scale.count == features.count, coefficients.count == features.count else {
            throw fail("\(features.count) features but \(mean.count) means, \(scale.count) scales and \(coefficients.count) coefficients")
        }
        guard scale.allSatisfy({ $0 > 0 }) else { throw fail("'scaler.scale' must be positive") }
        let threshold = try number(document["threshold"], "threshold")
        guard (0...1).contains(threshold) else { throw fail("threshold \(threshold) is not between 0 and 1") }
        let calibration = try document["calibration"].flatMap { value -> Calibration? in
            if value == .null { return nil }
            guard let calibration = Calibration(json: value) else {
                throw fail("'calibration' must be {\"method\": \"sigmoid\", \"a\": number, \"b\": number}")
            }
            return calibration
        }
        var distribution: TrainingDistribution?
        if let value = document["training_distribution"], value != .null {
            do { distribution = try TrainingDistribution(json: value, names: features) } catch {
                throw fail("'training_distribution' \(error.message)")
            }
        }
        var summary: FeatureSummary?
        if let value = document["feature_summary"], value != .null {
            do { summary = try FeatureSummary(json: value, names: features) } catch {
                throw fail("'feature_summary' \(error.message)")
            }
        }
        let streamPolicy = try document["stream_policy"].flatMap { value -> StreamPolicy? in
            if value == .null { return nil }
            guard let policy = StreamPolicy(json: value) else { throw fail(StreamPolicy.shape) }
            return policy
        }
        let decisionBands = try document["decision_bands"].flatMap { value -> DecisionBands? in
            if value == .null { return nil }
            guard let bands = DecisionBands(json: value) else { throw fail(DecisionBands.shape) }
            return bands
        }
        let facts = document["training"]
        let weights = (try? numbers(facts?["class_weights"], "training.class_weights")) ?? [1, 1]
        let training = TrainingFacts(
            rows: facts?["rows"]?.intValue ?? 0, positives: facts?["positives"]?.intValue ?? 0,
            cost: facts?["C"]?.doubleValue ?? 1,
            weighting: ClassWeighting(rawValue: facts?["class_weight"]?.stringValue ?? "") ?? .balanced,
            classWeights: (weights.first ?? 1, weights.last ?? 1),
            iterations: facts?["iterations"]?.intValue ?? 0, converged: facts?["converged"]?.boolValue ?? false,
            gradientNorm: facts?["gradient_norm"]?.doubleValue ?? 0,
            stopReason: facts?["stop_reason"]?.stringValue.flatMap(StopReason.init(rawValue:)),
            thresholdSource: facts?["threshold_source"]?.stringValue ?? "",
            thresholdRule: facts?["threshold_rule"]?.stringValue,
            seed: facts?["seed"]?.intValue.map { UInt64(truncatingIfNeeded: $0) }, folds: facts?["folds"]?.intValue,
            toolVersion: facts?["tool_version"]?.stringValue ?? "")
        var model = Model(
            features: features, scaler: StandardScaler(mean: mean, scale: scale), coefficients: coefficients,
            intercept: try number(document["intercept"], "intercept"), threshold: threshold, training: training,
            calibration: calibration, eventTypeColumns: eventTypeColumns, trainingDistribution: distribution)
        model.featureSummary = summary
        model.streamPolicy = streamPolicy
        model.decisionBands = decisionBands
        return model
    }
}
