/// When a stream flags a user: from a minimum number of events on, at a threshold that may
/// depend on how many events the user has shown. Scores after few events are noisy, so a
/// policy may ask more of them (a higher threshold) than of long histories.
///
/// Stored in the model as `stream_policy` (fu-fit --policy-events chooses it out of fold on
/// the training users, see `PolicySearch`); fu-watch decides with it.
public struct StreamPolicy: Sendable, Equatable {
    /// From `from` events on (until the next band's `from`), flag at `threshold` or above.
    public struct Band: Sendable, Equatable {
        public var from: Int
        public var threshold: Double
        public init(from: Int, threshold: Double) {
            self.from = from
            self.threshold = threshold
        }
    }

    /// Ascending `from`, at least one; the first band's `from` is the minimum number of events.
    public var bands: [Band]
    /// How it was chosen (the out-of-fold figures of fu-fit's search), kept as written.
    public var chosenOn: JSONValue?

    public init(bands: [Band], chosenOn: JSONValue? = nil) {
        precondition(!bands.isEmpty, "a policy has at least one band")
        self.bands = bands
        self.chosenOn = chosenOn
    }

    /// fu-watch's rule without a stored policy: one threshold from `minEvents` on.
    public static func plain(minEvents: Int, threshold: Double) -> StreamPolicy {
        StreamPolicy(bands: [Band(from: minEvents, threshold: threshold)])
    }

    public var minEvents: Int { bands[0].from }

    /// The decision for a user after `events` of its events.
    @inline(__always)
    public func flags(_ probability: Double, events: Int) -> Bool {
        var threshold = Double.infinity
        for band in bands {
            guard band.from <= events else { break }
            threshold = band.threshold
        }
        return probability >= threshold
    }

    /// `{"bands": [{"from_events": n, "threshold": x}, …], "chosen_on": {…}}`.
    public var json: JSONValue {
        .object([("bands", .array(bands.map { .object([("from_events", .integer($0.from)), ("threshold", .number($0.threshold))]) }))]
            + (chosenOn.map { [("chosen_on", $0)] } ?? []))
    }

    /// What `init?(json:)` takes, for the loader's message.
    public static let shape =
        "'stream_policy' must be {\"bands\": [{\"from_events\": n, \"threshold\": x}, …]}: n ≥ 1 ascending, x between 0 and 1, and an optional object \"chosen_on\""

    /// nil unless `json` has `shape`.
    public init?(json: JSONValue) {
        guard case .object = json, let items = json["bands"]?.arrayValue, !items.isEmpty else { return nil }
        var bands: [Band] = []
        for item in items {
            guard let from = item["from_events"]?.intValue, from >= 1, let threshold = item["threshold"]?.doubleValue,
                  threshold.isFinite, (0...1).contains(threshold) else { return nil }
            if let last = bands.last, from <= last.from { return nil }
            bands.append(Band(from: from, threshold: threshold))
        }
        var chosenOn: JSONValue?
        if let facts = json["chosen_on"], facts != .null {
            guard case .object = facts else { return nil }
            chosenOn = facts
        }
        self.init(bands: bands, chosenOn: chosenOn)
    }
}
