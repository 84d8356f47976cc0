/// Matches a features table to a model by column name: per-event-type columns the input
/// lacks read as 0 (a batch may not contain every type; the model says which columns are
/// per-type), extra columns are ignored, and any other missing feature is an error.
public struct FeatureMatch: Sendable {
    public var filledWithZero: [String]
    public var ignored: [String]

    public init(model: Model, reader: TableReader) throws {
        try checkNotEvents(reader)
        do {
            try self.init(model: model, header: reader.header)
        } catch var error as ToolError where error.location == nil {
            error.location = reader.location(line: 1)  // the header that lacks them
            throw error
        }
    }

    public init(model: Model, header: [String]) throws {
        let present = Set(header)
        let missing = model.features.filter { !present.contains($0) }
        // When nothing matches, the names are wrong (another model, another tool's table):
        // said first, as the likelier cause than a list of every feature.
        if missing.count == model.features.count {
            let shown = model.features.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (model.features.count > 3 ? ", …" : "")
            throw ToolError.data("the input has none of the model's \(model.features.count) features (\(shown)); are they features from fu-featurize, and is this the right model?")
        }
        let perType = Set(model.eventTypeColumns)
        let required = missing.filter { !perType.contains($0) }
        if !required.isEmpty {
            throw ToolError.data("the input lacks the model's feature\(required.count > 1 ? "s" : "") \(required.map { "'\($0)'" }.joined(separator: ", "))")
        }
        filledWithZero = missing
        let used = Set(model.features).union(keyColumns)
        ignored = header.filter { !used.contains($0) }
    }
}


/// Writes `UserId,Fake,Probability` rows, Fake being probability >= threshold; with
/// `bands` a `Decision` column follows (allow, review or block); with `stream`, Fake and
/// Decision are the stream's and an `events` column follows (fu-serve's `/events`); with
/// `reasons` a last column `reasons`: in CSV one field
/// `send_email_ratio=0.8 (+2.31); total_events=3 (-0.42)` (raw value in its shortest
/// text, contribution to two decimals), in JSON Lines an array of
/// `{"feature", "value", "contribution"}` objects with every digit.
public func writePredictions(
    ids: [String], probabilities: [Double], threshold: Double, bands: DecisionBands? = nil, to output: ByteOutput, format: TableFormat,
    reasons: Reasons? = nil, stream: (verdicts: [Verdict], events: [Int])? = nil
) throws {
    let columns = predictionColumns(bands: bands != nil, events: stream != nil, reasons: reasons != nil)
    let writer = try TableWriter(output, format: format, columns: columns)
    var text = ReasonText(names: reasons?.names ?? [], format: format)
    for (row, (id, probability)) in zip(ids, probabilities).enumerated() {
        try writer.field(id)
        // A stream's decision may also wait for a number of events.
        try writer.field((stream?.verdicts[row].fake ?? (probability >= threshold)) ? 1 : 0)
        try writer.field(probability)
        if let bands { try writer.field(stream?.verdicts[row].decision.rawValue ?? bands.decision(probability).rawValue) }
        if let stream { try writer.field(stream.events[row]) }
        if let reasons { try text.write(reasons, row: row, to: writer) }
        try writer.endRow()
    }
}

/// The columns of a scorer's rows, in order.
func predictionColumns(bands: Bool, events: Bool, reasons: Bool) -> [String] {
    ["UserId", "Fake", "Probability"] + (bands ? ["Decision"] : []) + (events ? ["events"] : []) + (reasons ? ["reasons"] : [])
}

/// What a stream decides for a user now: flagged or not, and (when the model has
/// decision bands) its band. Before the stream policy lets a user be flagged, it is allowed.
public struct Verdict: Sendable, Equatable {
    public var fake: Bool
    public var decision: Decision

    public init(fake: Bool, decision: Decision = .allow) {
        self.fake = fake
        self.decision = decision
    }

    public static let clear = Verdict(fake: false)
}

/// The text of one user's reasons, into a buffer reused from row to row.
struct ReasonText {
    var bytes: [UInt8] = []
    let format: TableFormat
    /// Per feature: `name=` for CSV, `{"feature":"name","value":` for JSON.
    let prefixes: [[UInt8]]
    /// True when the text can go out as it is: always in JSON; in CSV unless a feature's
    /// name holds a character that needs quoting (the rest is digits, signs and `=; ().e`).
    let plain: Bool
    var numbers = NumberFormatterCache()
    var shortest = NumberFormatterCache(style: .shortest)

    /// `names`: the model's features.
    init(names: [String], format: TableFormat) {
        self.format = format
        prefixes = names.map { name in
            Array((format == .csv ? name + "=" : "{\"feature\":" + jsonString(name) + ",\"value\":").utf8)
        }
        plain = format == .jsonl || !names.contains { $0.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D } }
        bytes.reserveCapacity(256)
    }

    /// The row's K features and contributions, strongest first.
    private var top: [Int] = []
    private var terms: [Double] = []

    /// Row `row`'s reasons as the writer's next field.
    mutating func write(_ reasons: Reasons, row: Int, to writer: TableWriter) throws {
        render(reasons, row: row)
        if plain {
            try writer.field(raw: bytes)
        } else {
            try bytes.withUnsafeBufferPointer { try writer.field(bytes: $0) }
        }
    }

    mutating func render(_ reasons: Reasons, row: Int) {
        bytes.removeAll(keepingCapacity: true)
        if top.count != reasons.k {
            top = [Int](repeating: 0, count: reasons.k)
            terms = [Double](repeating: 0, count: reasons.k)
        }
        reasons.strongest(row: row, top: &top, terms: &terms)
        let csv = format == .csv
        if !csv { bytes.append(UInt8(ascii: "[")) }
        for j in 0..<reasons.k {
            if j > 0 {
                if csv {
                    bytes.append(UInt8(ascii: ";"))
                    bytes.append(UInt8(ascii: " "))
                } else {
                    bytes.append(UInt8(ascii: ","))
                }
            }
            bytes.append(contentsOf: prefixes[top[j]])
            let value = reasons.value(row: row, feature: top[j])
            if csv {
                ReasonText.append(value, with: &shortest, to: &bytes)
                bytes.append(UInt8(ascii: " "))
                bytes.append(UInt8(ascii: "("))
                appendTwoDecimals(terms[j])
                bytes.append(UInt8(ascii: ")"))
            } else {
                ReasonText.append(value, with: &numbers, to: &bytes)
                bytes.append(contentsOf: ReasonText.contributionKey)
                ReasonText.append(terms[j], with: &numbers, to: &bytes)
                bytes.append(UInt8(ascii: "}"))
            }
        }
        if !csv { bytes.append(UInt8(ascii: "]")) }
    }

    private static let contributionKey = Array(",\"contribution\":".utf8)

    /// `%.17g` (as every number fu writes in a table) or the shortest exact text (`0.8`,
    /// `3`, for people), through a cache: feature values repeat.
    private static func append(_ value: Double, with cache: inout NumberFormatterCache, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            let length = cache.format(value, into: buffer.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<length]))
        }
    }

    /// Sign always, two decimals: `+2.31`, `-0.42`.
    private mutating func appendTwoDecimals(_ value: Double) {
        bytes.append(value < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        let magnitude = abs(value)
        guard magnitude < 1e15 else {
            bytes.append(contentsOf: magnitude.description.utf8)
            return
        }
        var cents = Int((magnitude * 100).rounded())
        // Digits from the right into a small buffer: no String on the way.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            var position = 24
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(cents % 10)
                cents /= 10
                if position == 22 {
                    position -= 1
                    buffer[position] = UInt8(ascii: ".")
                }
            } while cents > 0 || position > 20
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[position..<24]))
        }
    }
}
