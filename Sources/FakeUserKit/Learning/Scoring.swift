/// Matches a features table to a model by column name: per-event-type columns the input
/// lacks read as 0 (a batch may not contain every type), extra columns are ignored, and a
/// missing core feature is an error.
public struct FeatureMatch: Sendable {
    public var filledWithZero: [String]
    public var ignored: [String]

    public init(model: Model, reader: TableReader) throws {
        try checkNotEvents(reader)
        try self.init(model: model, header: reader.header)
    }

    public init(model: Model, header: [String]) throws {
        let present = Set(header)
        let missing = model.features.filter { !present.contains($0) }
        let core = missing.filter { !isPerEventTypeColumn($0) }
        if !core.isEmpty {
            throw ToolError.data("the input lacks the model's feature\(core.count > 1 ? "s" : "") \(core.map { "'\($0)'" }.joined(separator: ", "))")
        }
        // Only per-type columns may be missing; when nothing matches, the names are wrong
        // (another model, another tool's table), and filling zeros would give every user
        // the same probability.
        if missing.count == model.features.count {
            let shown = model.features.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (model.features.count > 3 ? ", …" : "")
            throw ToolError.data("the input has none of the model's \(model.features.count) features (\(shown)); are they features from fu-featurize, and is this the right model?")
        }
        filledWithZero = missing
        let used = Set(model.features).union(keyColumns)
        ignored = header.filter { !used.contains($0) }
    }
}

/// True for the columns fu-featurize makes per event type (`click_ad`, `send_sms_ratio`…),
/// false for the fixed ones.
public func isPerEventTypeColumn(_ name: String) -> Bool {
    !FeatureSet.referenceNames.contains(name) && !FeatureSet.extendedNames.contains(name)
}

/// Writes `UserId,Fake,Probability` rows, Fake being probability >= threshold, and with
/// `reasons` a fourth column `reasons`: in CSV one field
/// `send_email_ratio=0.8 (+2.31); total_events=3 (-0.42)` (raw value in its shortest
/// text, contribution to two decimals), in JSON Lines an array of
/// `{"feature", "value", "contribution"}` objects with every digit.
public func writePredictions(
    ids: [String], probabilities: [Double], threshold: Double, to output: ByteOutput, format: TableFormat, reasons: Reasons? = nil
) throws {
    let writer = try TableWriter(output, format: format, columns: ["UserId", "Fake", "Probability"] + (reasons == nil ? [] : ["reasons"]))
    var text = ReasonText(reasons: reasons, format: format)
    for (row, (id, probability)) in zip(ids, probabilities).enumerated() {
        try writer.field(id)
        try writer.field(probability >= threshold ? 1 : 0)
        try writer.field(probability)
        if let reasons {
            text.render(reasons, row: row)
            if format == .csv {
                try text.bytes.withUnsafeBufferPointer { try writer.field(bytes: $0) }
            } else {
                try writer.field(json: text.bytes)
            }
        }
        try writer.endRow()
    }
}

/// The text of one user's reasons, into a buffer reused from row to row.
struct ReasonText {
    var bytes: [UInt8] = []
    let format: TableFormat
    /// Per feature: `name=` for CSV, `{"feature":"name","value":` for JSON.
    let prefixes: [[UInt8]]
    var numbers = NumberFormatterCache()

    init(reasons: Reasons?, format: TableFormat) {
        self.format = format
        prefixes = (reasons?.names ?? []).map { name in
            Array((format == .csv ? name + "=" : "{\"feature\":" + jsonString(name) + ",\"value\":").utf8)
        }
        bytes.reserveCapacity(256)
    }

    mutating func render(_ reasons: Reasons, row: Int) {
        bytes.removeAll(keepingCapacity: true)
        if format == .jsonl { bytes.append(UInt8(ascii: "[")) }
        for j in 0..<reasons.k {
            let index = row * reasons.k + j
            if j > 0 { bytes.append(contentsOf: format == .csv ? [UInt8(ascii: ";"), UInt8(ascii: " ")] : [UInt8(ascii: ",")]) }
            bytes.append(contentsOf: prefixes[Int(reasons.features[index])])
            if format == .csv {
                appendShortest(reasons.values[index])
                bytes.append(contentsOf: " (".utf8)
                appendTwoDecimals(reasons.contributions[index])
                bytes.append(UInt8(ascii: ")"))
            } else {
                appendFull(reasons.values[index])
                bytes.append(contentsOf: ",\"contribution\":".utf8)
                appendFull(reasons.contributions[index])
                bytes.append(UInt8(ascii: "}"))
            }
        }
        if format == .jsonl { bytes.append(UInt8(ascii: "]")) }
    }

    /// `%.17g`, as every number fu writes in a table.
    private mutating func appendFull(_ value: Double) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            let length = numbers.format(value, into: buffer.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<length]))
        }
    }

    /// The shortest text that reads back to the value (`0.8`, `3`), for people.
    private mutating func appendShortest(_ value: Double) {
        if value == value.rounded() && abs(value) < 1e15 {
            bytes.append(contentsOf: String(Int(value)).utf8)
        } else {
            bytes.append(contentsOf: value.description.utf8)
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
        let cents = Int((magnitude * 100).rounded())
        bytes.append(contentsOf: String(cents / 100).utf8)
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(cents % 100 / 10))
        bytes.append(UInt8(ascii: "0") + UInt8(cents % 10))
    }
}
