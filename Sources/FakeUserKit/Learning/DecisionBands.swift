/// What a team does with a score: let the user be, have a person look, or block the
/// account. The scorers write it as a `Decision` column when the model has bands.
public enum Decision: String, Sendable, CaseIterable {
    case allow, review, block
}

/// Allow / review / block by score (fu-fit --bands): block from `block` up, review from
/// `review` up to `block`, allow below. Either may be nil: nobody is blocked when no
/// threshold reached the precision asked for, nobody reviewed when the capacity could not
/// take even the users tied at the top score left. Stored in the model as `decision_bands`.
public struct DecisionBands: Sendable, Equatable {
    public var review: Double?
    public var block: Double?
    /// How they were chosen (the out-of-fold figures of fu-fit), kept as written.
    public var chosenOn: JSONValue?

    public init(review: Double?, block: Double?, chosenOn: JSONValue? = nil) {
        self.review = review
        self.block = block
        self.chosenOn = chosenOn
    }

    @inline(__always)
    public func decision(_ probability: Double) -> Decision {
        if let block, probability >= block { return .block }
        if let review, probability >= review { return .review }
        return .allow
    }

    /// `{"review": x|null, "block": x|null, "chosen_on": {…}}`.
    public var json: JSONValue {
        .object([("review", review.map(JSONValue.number) ?? .null), ("block", block.map(JSONValue.number) ?? .null)]
            + (chosenOn.map { [("chosen_on", $0)] } ?? []))
    }

    /// What `init?(json:)` takes, for the loader's message.
    public static let shape =
        "'decision_bands' must be {\"review\": x, \"block\": y}: each a probability or null, review not above block, and an optional object \"chosen_on\""

    /// nil unless `json` has `shape`.
    public init?(json: JSONValue) {
        guard case .object = json else { return nil }
        func threshold(_ key: String) -> Double?? {
            guard let value = json[key], value != .null else { return .some(nil) }
            guard let number = value.doubleValue, number.isFinite, (0...1).contains(number) else { return nil }
            return .some(number)
        }
        guard let review = threshold("review"), let block = threshold("block") else { return nil }
        if let review, let block, review > block { return nil }
        var chosenOn: JSONValue?
        if let facts = json["chosen_on"], facts != .null {
            guard case .object = facts else { return nil }
            chosenOn = facts
        }
        self.init(review: review, block: block, chosenOn: chosenOn)
    }
}

/// fu-fit's `--bands capacity=R,precision=P`: block where the out-of-fold precision is at
/// least P, and have people review at most a share R of users below that.
public struct BandRule: Sendable, Equatable {
    public var capacity: Double
    public var precision: Double

    public init(capacity: Double, precision: Double) {
        self.capacity = capacity
        self.precision = precision
    }

    public init(parsing text: String) throws {
        let usage = ToolError.usage(
            "--bands must be 'capacity=R,precision=P': R the share of users people can review, P the precision blocking must reach, each in (0, 1]; not '\(text)'")
        var values: [String: Double] = [:]
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, ["capacity", "precision"].contains(pair[0]), values[pair[0]] == nil,
                  let value = Double(pair[1]), value > 0, value <= 1 else { throw usage }
            values[pair[0]] = value
        }
        guard let capacity = values["capacity"], let precision = values["precision"] else { throw usage }
        self.init(capacity: capacity, precision: precision)
    }

    /// The bands on out-of-fold `scores` (`folds` is recorded): block from the distinct
    /// score that catches the most fakes while the users at or above it are fakes with
    /// precision ≥ P, the highest such score on a tie (no real user is blocked for no
    /// fake); review from the lowest distinct score below that which keeps the reviewed
    /// users within ⌊R·n⌋ (users tied at a score go together).
    public func choose(labels: [UInt8], scores: [Double], folds: Int) -> DecisionBands {
        var block: (threshold: Double, users: Int, fakes: Int)?
        forEachCurvePoint(labels: labels, scores: scores) { point in
            let users = point.truePositives + point.falsePositives
            if Double(point.truePositives) / Double(users) >= precision, point.truePositives > block?.fakes ?? 0 {
                block = (point.threshold, users, point.truePositives)
            }
        }
        let limit = Int((capacity * Double(scores.count) + 1e-9).rounded(.down))
        let blockFrom = block?.threshold ?? .infinity
        let review = lowestScoreWithin(scores.filter { $0 < blockFrom }.sorted(by: >)[...], limit: limit)
        let reviewFrom = review?.threshold ?? blockFrom
        let reviewedFakes = zip(scores, labels).count { $0.0 >= reviewFrom && $0.0 < blockFrom && $0.1 == 1 }
        let facts: JSONValue = .object([
            ("folds", .integer(folds)),
            ("capacity", .number(capacity)),
            ("precision", .number(precision)),
            ("users", .integer(scores.count)),
            ("blocked", .integer(block?.users ?? 0)),
            ("blocked_fakes", .integer(block?.fakes ?? 0)),
            ("reviewed", .integer(review.map { $0.users } ?? 0)),
            ("reviewed_fakes", .integer(reviewedFakes)),
        ])
        return DecisionBands(review: review?.threshold, block: block?.threshold, chosenOn: facts)
    }
}
