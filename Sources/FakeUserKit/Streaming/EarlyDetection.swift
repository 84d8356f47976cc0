/// How soon a stream catches fakes, and how many real users it falsely flags on the way:
/// the replay evaluation of `fu-watch --truth FILE --summary FILE`. Fed each user's
/// decision after each of its events, in arrival order.
///
/// For each fake: the events seen when it was first flagged. For each real user: whether it
/// was ever flagged (a false alarm a reviewer sees), flagged at the end of its history
/// (what a batch over the whole history would say), and the events seen at its first
/// false alarm.
public struct EarlyDetection {
    private let truth: [String: UInt8]
    private let truthName: String
    /// Per user seen: the events at its first flag (0: never), and its last decision.
    private var users: [String: (firstFlag: Int, last: Bool)] = [:]
    public let policy: StreamPolicy

    /// The shares of fakes caught within this many events.
    public static let horizons = [1, 2, 3, 5, 10, 20]
    /// The curves (fakes caught, real users ever flagged, within n events) go to this n.
    public static let curveLength = 30

    public init(truth: [String: UInt8], truthName: String, policy: StreamPolicy) {
        self.truth = truth
        self.truthName = truthName
        self.policy = policy
    }

    /// One decision: `user` after `events` of its events. A user the truth does not name is
    /// an error: the replay would be measured on users it cannot judge.
    public mutating func observe(_ user: UnsafeBufferPointer<UInt8>, flagged: Bool, events: Int) throws {
        let id = String(decoding: user, as: UTF8.self)
        let known = users[id]
        if known == nil, truth[id] == nil {
            throw ToolError.data("user '\(id)' of the stream is not in the truth file", at: InputLocation(file: truthName))
        }
        var record = known ?? (firstFlag: 0, last: false)
        if flagged && record.firstFlag == 0 { record.firstFlag = events }
        record.last = flagged
        users[id] = record
    }

    /// The summary, with scikit-learn-like plain keys; percentiles as NumPy's default
    /// (linear interpolation).
    public var json: JSONValue {
        var fakes = 0, caught: [Int] = [], real = 0, falseAlarms: [Int] = [], flaggedAtEnd = 0, fakesFlaggedAtEnd = 0
        for (id, record) in users {
            if truth[id] == 1 {
                fakes += 1
                if record.firstFlag > 0 { caught.append(record.firstFlag) }
                if record.last { fakesFlaggedAtEnd += 1 }
            } else {
                real += 1
                if record.firstFlag > 0 { falseAlarms.append(record.firstFlag) }
                if record.last { flaggedAtEnd += 1 }
            }
        }
        func share(_ part: Int, _ whole: Int) -> JSONValue { whole == 0 ? .null : .number(Double(part) / Double(whole)) }
        func quantiles(_ values: [Int]) -> JSONValue {
            guard !values.isEmpty else { return .object([("median", .null), ("p90", .null)]) }
            let sorted = values.sorted().map(Double.init)
            return .object([("median", .number(percentile(sorted, 0.5))), ("p90", .number(percentile(sorted, 0.9)))])
        }
        return .object([
            // threshold and min_events: the first band's (the whole rule without a stored policy).
            ("policy", .object([
                ("threshold", .number(policy.bands[0].threshold)), ("min_events", .integer(policy.minEvents)),
                ("bands", policy.json["bands"] ?? .null),
            ])),
            ("fakes", .integer(fakes)),
            ("fakes_caught", .integer(caught.count)),
            ("fakes_flagged_at_end", .integer(fakesFlaggedAtEnd)),
            ("events_to_flag", quantiles(caught)),
            ("caught_within", .object(EarlyDetection.horizons.map { h in ("\(h)", share(caught.count { $0 <= h }, fakes)) })),
            ("real_users", .integer(real)),
            ("real_ever_flagged", .integer(falseAlarms.count)),
            ("real_flagged_at_end", .integer(flaggedAtEnd)),
            ("events_to_false_alarm", quantiles(falseAlarms)),
            // fu-report's two curves against events seen.
            ("curve", .object([
                ("events", .array((1...EarlyDetection.curveLength).map { .integer($0) })),
                ("fakes_caught", .array((1...EarlyDetection.curveLength).map { n in share(caught.count { $0 <= n }, fakes) })),
                ("real_ever_flagged", .array((1...EarlyDetection.curveLength).map { n in share(falseAlarms.count { $0 <= n }, real) })),
            ])),
        ])
    }
}

/// The q-th quantile of sorted values, linearly interpolated (NumPy's default).
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    let position = q * Double(sorted.count - 1)
    let low = Int(position.rounded(.down))
    let high = min(low + 1, sorted.count - 1)
    return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
}
