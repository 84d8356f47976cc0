/// What a stream says of its users now: `POST /events` and `GET /users/ID` answer with
/// these, in the rows and number text of fu-score plus the events seen.

/// One user's score from its kept counters.
public struct UserScore: Sendable {
    public var id: String
    public var verdict: Verdict
    public var fake: Bool { verdict.fake }
    public var probability: Double
    public var events: Int
    /// The model's features for this user, for reasons.
    var features: [Double]
}

/// Users' scores, in UserId order once sorted.
public struct StreamScores: Sendable {
    public private(set) var users: [UserScore] = []
    /// Events in the batch these scores answer (`ingest`).
    public internal(set) var batchEvents = 0
    public let model: Model
    /// K reasons a user, when asked for.
    let explain: Int?

    init(model: Model, explain: Int?) {
        self.model = model
        self.explain = explain
    }

    mutating func append(_ score: UserScore) { users.append(score) }

    func sortedByID() throws -> StreamScores {
        var sorted = self
        sorted.users.sort { a, b in
            var (a, b) = (a.id, b.id)
            return a.withUTF8 { x in b.withUTF8 { y in compareIDs(x, y) < 0 } }
        }
        return sorted
    }

    public var flaggedCount: Int { users.count { $0.fake } }

    /// The users' model features (for reasons, and for fu-serve's drift window).
    public var table: FeatureTable {
        FeatureTable(ids: users.map(\.id), labels: nil, names: model.features, values: users.flatMap(\.features))
    }

    /// CSV, or JSON Lines (one object a user).
    public func write(to output: ByteOutput, format: TableFormat) throws {
        let reasons = try explain.map { try Reasons(model: model, table: table, k: $0) }
        try writePredictions(
            ids: users.map(\.id), probabilities: users.map(\.probability), threshold: model.threshold, bands: model.decisionBands, to: output,
            format: format, reasons: reasons, stream: (users.map(\.verdict), users.map(\.events)))
    }

    /// As `/predict` answers: CSV, or the JSON Lines objects as one array.
    public func rendered(as format: PredictionFormat) throws -> [UInt8] {
        try renderedPredictions(as: format) { try write(to: $0, format: $1) }
    }
}

/// A request's events, read whole before they are counted: ids in one byte array.
struct PendingEvents {
    private var idBytes: [UInt8] = []
    private var idEnds: [Int] = []
    private(set) var hashes: [UInt64] = []
    private(set) var events: [UInt8] = []
    private(set) var categories: [UInt8] = []

    var count: Int { idEnds.count }

    mutating func append(_ event: EventRow) {
        idBytes.append(contentsOf: event.userID)
        idEnds.append(idBytes.count)
        hashes.append(SlotIndex.hash(event.userID))
        // Both fit: at most 64 event types and 64 categories (EventRowParser's limits).
        events.append(UInt8(event.event))
        categories.append(UInt8(event.category))
    }

    func withID<T>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        let start = i == 0 ? 0 : idEnds[i - 1]
        return idBytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<idEnds[i]])) }
    }
}
