/// What the report needs to explain a model's features, kept by fu-fit from the training
/// rows (the model file's optional `feature_summary`): each feature's mean for fake and
/// for real users, and the pairs of features that move together (|Pearson r| above
/// `correlationLimit`), whose coefficients must be read together: `send_email_ratio +1.06`
/// beside `send_email −0.54` does not mean that sending email lowers P(fake).
public struct FeatureSummary: Sendable, Equatable {
    public var meanFake: [Double]
    public var meanReal: [Double]
    public var correlated: [CorrelatedPair]

    public struct CorrelatedPair: Sendable, Equatable {
        public var first: Int
        public var second: Int
        public var r: Double
    }

    public static let correlationLimit = 0.8
    /// Correlations are taken on at most this many rows (evenly spread): with 64 event
    /// types a pair sum a row over all rows would cost more than the fit.
    public static let correlationRows = 100_000

    public init(meanFake: [Double], meanReal: [Double], correlated: [CorrelatedPair]) {
        self.meanFake = meanFake
        self.meanReal = meanReal
        self.correlated = correlated
    }

    /// From labelled training rows (both classes present).
    public init(table: FeatureTable, labels: [UInt8]) {
        let width = table.featureCount, rows = table.rowCount
        var sumFake = [Double](repeating: 0, count: width), sumReal = sumFake
        var fakes = 0
        for row in 0..<rows {
            let isFake = labels[row] == 1
            if isFake { fakes += 1 }
            for f in 0..<width {
                let value = table.values[row * width + f]
                if isFake { sumFake[f] += value } else { sumReal[f] += value }
            }
        }
        meanFake = sumFake.map { fakes == 0 ? 0 : $0 / Double(fakes) }
        meanReal = sumReal.map { rows == fakes ? 0 : $0 / Double(rows - fakes) }
        // Pearson r of every pair, from sums centred on the sampled rows' own means.
        let step = max(1, (rows + Self.correlationRows - 1) / Self.correlationRows)
        let sample = stride(from: 0, to: rows, by: step)
        var mean = [Double](repeating: 0, count: width)
        for row in sample { for f in 0..<width { mean[f] += table.values[row * width + f] } }
        let sampled = Double(max((rows + step - 1) / step, 1))
        for f in 0..<width { mean[f] /= sampled }
        var cross = [Double](repeating: 0, count: width * width)
        var centred = [Double](repeating: 0, count: width)
        for row in sample {
            for f in 0..<width { centred[f] = table.values[row * width + f] - mean[f] }
            for a in 0..<width {
                let ca = centred[a]
                for b in a..<width { cross[a * width + b] += ca * centred[b] }
            }
        }
        var pairs: [CorrelatedPair] = []
        for a in 0..<width {
            for b in (a + 1)..<max(a + 1, width) {
                let denominator = (cross[a * width + a] * cross[b * width + b]).squareRoot()
                guard denominator > 0 else { continue }  // a constant feature moves with nothing
                let r = cross[a * width + b] / denominator
                if abs(r) > Self.correlationLimit { pairs.append(CorrelatedPair(first: a, second: b, r: r)) }
            }
        }
        correlated = pairs.sorted { abs($0.r) != abs($1.r) ? abs($0.r) > abs($1.r) : ($0.first, $0.second) < ($1.first, $1.second) }
    }

    func json(names: [String]) -> JSONValue {
        .object([
            ("mean_fake", .numbers(meanFake)),
            ("mean_real", .numbers(meanReal)),
            ("correlated", .array(correlated.map { pair in
                .object([("a", .string(names[pair.first])), ("b", .string(names[pair.second])), ("r", .number(pair.r))])
            })),
        ])
    }

    /// Checks lengths, finite numbers and that each pair names two different features.
    init(json: JSONValue, names: [String]) throws(DistributionProblem) {
        func numbers(_ key: String) throws(DistributionProblem) -> [Double] {
            let values = try finiteNumbers(json, key)
            guard values.count == names.count else { throw DistributionProblem("'\(key)' must be one number a feature") }
            return values
        }
        let meanFake = try numbers("mean_fake"), meanReal = try numbers("mean_real")
        guard let items = json["correlated"]?.arrayValue else { throw DistributionProblem("'correlated' is missing or not an array") }
        var pairs: [CorrelatedPair] = []
        for item in items {
            guard let a = item["a"]?.stringValue.flatMap(names.firstIndex(of:)), let b = item["b"]?.stringValue.flatMap(names.firstIndex(of:)),
                  a != b, let r = item["r"]?.doubleValue, r.isFinite, abs(r) <= 1 else {
                throw DistributionProblem("'correlated' must hold {\"a\", \"b\", \"r\"} with two of the model's features and |r| at most 1")
            }
            pairs.append(CorrelatedPair(first: a, second: b, r: r))
        }
        self.init(meanFake: meanFake, meanReal: meanReal, correlated: pairs)
    }
}
