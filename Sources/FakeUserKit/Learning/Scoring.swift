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

/// Writes `UserId,Fake,Probability` rows, Fake being probability >= threshold.
public func writePredictions(ids: [String], probabilities: [Double], threshold: Double, to output: ByteOutput, format: TableFormat) throws {
    let writer = try TableWriter(output, format: format, columns: ["UserId", "Fake", "Probability"])
    for (id, probability) in zip(ids, probabilities) {
        try writer.field(id)
        try writer.field(probability >= threshold ? 1 : 0)
        try writer.field(probability)
        try writer.endRow()
    }
}
