/// Scoring one batch of events that arrived whole in memory (an HTTP request): exactly
/// `fu-featurize | fu-score`, the same library code with the features table passed in memory.
/// Failures come back as `BatchFailure`, in terms a server maps to statuses.

public struct EventBatchLimits: Sendable {
    /// Bytes of events after zstd decoding.
    public var maxBytes: Int
    public var maxEvents: Int
    /// Bytes of per-user counters one request may make: a million one-event users with 64
    /// event types and 64 categories would take 1 GB.
    public var maxCounterBytes: Int

    public init(maxBytes: Int, maxEvents: Int, maxCounterBytes: Int = 256 << 20) {
        self.maxBytes = maxBytes
        self.maxEvents = maxEvents
        self.maxCounterBytes = maxCounterBytes
    }
}

public enum BatchFailure: Error, Sendable, Equatable {
    /// Not readable as events: bad CSV/JSON, bad values, empty. The message names the line.
    case malformed(String)
    /// Readable, but without a column the features need.
    case missingColumns(String)
    /// Over a limit.
    case tooLarge(String)

    public var message: String {
        switch self {
        case .malformed(let text), .missingColumns(let text), .tooLarge(let text): return text
        }
    }
}

public enum PredictionFormat: Sendable {
    /// A JSON array of `{"UserId", "Fake", "Probability"}` objects.
    case jsonArray
    case csv
}

/// The predictions for one batch, in UserId order.
public struct ScoredBatch: Sendable {
    public var ids: [String]
    public var probabilities: [Double]
    public var threshold: Double
    /// The model's allow/review/block bands: a Decision column when set.
    public var bands: DecisionBands? = nil
    public var events: Int
    /// Each user's strongest contributions, when asked for (`?explain=K`).
    public var reasons: Reasons? = nil
    /// The users' features in the model's columns (for the drift window); nil without users.
    public var table: FeatureTable? = nil

    public var fakeCount: Int { probabilities.count { $0 >= threshold } }

    /// The same rows and number text as `fu-score` writes (CSV, or its JSON Lines objects
    /// as one array).
    public func rendered(as format: PredictionFormat) throws -> [UInt8] {
        try renderedPredictions(as: format) { output, format in
            try writePredictions(
                ids: ids, probabilities: probabilities, threshold: threshold, bands: bands, to: output, format: format, reasons: reasons)
        }
    }
}

/// What `write` writes in memory: CSV, or JSON Lines turned into one JSON array.
func renderedPredictions(as format: PredictionFormat, _ write: (ByteOutput, TableFormat) throws -> Void) throws -> [UInt8] {
    let memory = ByteOutput(inMemory: ())
    try write(memory, format == .csv ? .csv : .jsonl)
    let text = try memory.collected()
    guard format == .jsonArray else { return text }
    var json: [UInt8] = [UInt8(ascii: "[")]
    json.reserveCapacity(text.count + 4)
    var lineStart = true
    for byte in text {
        if lineStart && json.count > 1 { json.append(UInt8(ascii: ",")) }
        lineStart = byte == 0x0A
        if !lineStart { json.append(byte) }
    }
    json.append(contentsOf: "]\n".utf8)
    return json
}

/// Featurizes and scores `body`: CSV, JSON Lines or a JSON array of event objects (told
/// apart by the first non-blank byte: `[` is an array, `{` JSON Lines), plain or zstd.
/// `name` is what messages call the input; `explain` adds each user's K strongest reasons
/// (K already checked with `Reasons.check`). A problem with the input throws
/// `BatchFailure`; anything else is a fault of the server's.
public func scoreEventBatch(
    _ body: [UInt8], model: Model, limits: EventBatchLimits, name: String = "request body", explain: Int? = nil
) throws -> ScoredBatch {
    func noUsers(events: Int) throws -> ScoredBatch {
        let empty = FeatureTable(ids: [], labels: nil, names: model.features, values: [])
        return ScoredBatch(
            ids: [], probabilities: [], threshold: model.threshold, bands: model.decisionBands, events: events,
            reasons: try explain.map { try Reasons(model: model, table: empty, k: $0) })
    }
    return try readEventBatch(body, limits: limits, name: name, noEvents: { try noUsers(events: 0) }) { reader, bytes in
        // A second parsing thread pays off only for large batches.
        let options = FeaturizeOptions(maxRows: limits.maxEvents, oneThread: bytes < 1 << 20, maxCounterBytes: limits.maxCounterBytes)
        let (features, summary) = try Featurizer(options: options).table(reader: reader)
        guard summary.users > 0 else {
            return try noUsers(events: summary.rows)
        }
        let table: FeatureTable
        do {
            // The features as fu-featurize makes them, in the model's columns: no CSV between.
            table = try features.selecting(model.features, fillMissing: Set(try FeatureMatch(model: model, header: features.names).filledWithZero))
        } catch let error as ToolError {
            throw BatchFailure.missingColumns(error.message)
        }
        return ScoredBatch(
            ids: table.ids, probabilities: model.probabilities(table), threshold: model.threshold, bands: model.decisionBands, events: summary.rows,
            reasons: try explain.map { try Reasons(model: model, table: table, k: $0) }, table: table)
    }
}

/// Opens a request body as events and hands `read` its reader (and the decoded size); an
/// empty JSON array calls `noEvents` instead. Problems with the input, from here or from
/// `read`, come out as `BatchFailure` with the body's line numbers.
public func readEventBatch<T>(
    _ body: [UInt8], limits: EventBatchLimits, name: String = "request body", noEvents: () throws -> T,
    _ read: (TableReader, _ bytes: Int) throws -> T
) throws -> T {
    var arrayLines: JSONArrayLines?
    func located(_ error: ToolError) -> String {
        guard let line = error.location?.line else { return error.message }
        return "\(error.message) (line \(arrayLines?.bodyLine(line) ?? line))"
    }
    if firstNonBlankByte(body) == nil {
        throw BatchFailure.malformed("the request has no events: send a header row and one row per event")
    }
    do {
        var events = body
        if startsWithZstdFrame(body) {
            events = try decodeZstdBody(body, limit: limits.maxBytes, name: name, what: "the events are")
        }
        if firstNonBlankByte(events) == UInt8(ascii: "[") {
            let lines = try JSONArrayLines(events, name: name)
            if lines.lines.isEmpty { return try noEvents() }
            arrayLines = lines
            events = lines.bytes
        }
        // The reader's message names a command line (gunzip -c FILE | fu-…); a client needs another.
        if let compressor = events.withUnsafeBufferPointer(otherCompression) {
            throw BatchFailure.malformed(
                "the events are \(compressor.name) data; send them plain, or zstd-compressed (Content-Type: application/zstd)")
        }
        let input = try ByteInput(bytes: events, name: name)
        input.limit = limits.maxBytes
        let reader = try TableReader(input)
        // Checked here, all at once, so that a missing column is told from malformed text;
        // with the hints the tools give (a name in another case, a ';' header, features).
        let missing = requiredEventColumns.filter { reader.column($0) == nil }
        if !missing.isEmpty {
            let names = missing.map { "'\($0)'" }.joined(separator: ", ")
            var hints: [String] = []
            for hint in missing.map(reader.missingColumnHint) where !hint.isEmpty && !hints.contains(hint) { hints.append(hint) }
            throw BatchFailure.missingColumns(
                "missing required column\(missing.count > 1 ? "s" : "") \(names); events need UserId, Event and Category\(hints.joined())")
        }
        do {
            _ = try reader.labelColumn()
        } catch let error as ToolError {
            // `fake` for `Fake`: a header to fix, as a missing column is (422, not 400).
            throw BatchFailure.missingColumns(error.message)
        }
        return try read(reader, events.count)
    } catch let error as TooManyRows {
        throw BatchFailure.tooLarge("more than \(error.limit) events in one request")
    } catch let error as InputTooLarge {
        throw BatchFailure.tooLarge("the events are more than \(error.limit) bytes once decoded")
    } catch let error as ToolError where error.overLimit {
        throw BatchFailure.tooLarge(located(error))
    } catch let error as ToolError where error.status == .dataError {
        throw BatchFailure.malformed(located(error))
    }
}

/// A zstd request body decoded, within `limit` decoded bytes (a small body may expand
/// without bound). `what` starts the 413 message ("the events are").
public func decodeZstdBody(_ body: [UInt8], limit: Int, name: String = "request body", what: String) throws -> [UInt8] {
    do {
        let input = try ByteInput(bytes: body, name: name)
        input.limit = limit
        return try input.readAll()
    } catch let error as InputTooLarge {
        throw BatchFailure.tooLarge("\(what) more than \(error.limit) bytes once decoded")
    } catch let error as ToolError where error.status == .dataError {
        throw BatchFailure.malformed(error.message)
    }
}

/// After an optional UTF-8 byte order mark and blanks.
func firstNonBlankByte(_ bytes: [UInt8]) -> UInt8? {
    let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    return bytes[start...].first { !(($0 == 0x20) || ($0 == 0x09) || ($0 == 0x0A) || ($0 == 0x0D)) }
}
