/// The `Fake` column: "0" or "1", nothing else. Every reader of labels checks it here.
extension TableReader {
    /// The label in `row`'s `column`, or nil after rejecting the row (skipped and counted,
    /// or thrown, as the reader says).
    public func label(_ row: Row, column: Int) throws -> UInt8? {
        let text = row.field(column)
        if text.count == 1, text[0] == UInt8(ascii: "0") || text[0] == UInt8(ascii: "1") {
            return text[0] - UInt8(ascii: "0")
        }
        let shown = String(decoding: text, as: UTF8.self)
        // pandas writes an integer column holding a NaN as floats.
        let hint = shown == "0.0" || shown == "1.0" ? " (a float label, as pandas writes it: save the column as integers, e.g. df.Fake.astype(int))" : ""
        try reject("Fake must be 0 or 1, found '\(shown)'\(hint)", line: row.line)
        return nil
    }

    /// The `Fake` column, or nil when the table has none. A column that differs from it only
    /// in case (`fake`) is an error: read as no label, it would lose the labels silently.
    public func labelColumn() throws -> Int? {
        if let index = column("Fake") { return index }
        if let near = caseVariant(of: "Fake") {
            throw ToolError.data("found a column '\(near)'; the label column is 'Fake' (column names are case-sensitive): rename it", at: location(line: 1))
        }
        return nil
    }

    /// A header name equal to `name` but for case, if any.
    func caseVariant(of name: String) -> String? {
        header.first { $0 != name && $0.lowercased() == name.lowercased() }
    }

    /// The likely cause when `name` is missing from the header, as a clause to append:
    /// its name in another case, a header of another separator, a features table where
    /// events belong.
    func missingColumnHint(_ name: String) -> String {
        if let near = caseVariant(of: name) {
            return "; found '\(near)' (column names are case-sensitive: rename it '\(name)')"
        }
        if header.count == 1, let separator = [(";", "semicolon"), ("\t", "tab")].first(where: { header[0].contains($0.0) }) {
            let tool = separator.0 == ";" ? "tr ';' ','" : "tr '\\t' ','"
            return "; the header is one column separated by \(separator.1)s: fu reads comma-separated CSV (convert it, e.g. with \(tool), if no field holds a comma)"
        }
        if (name == "Event" || name == "Category") && column("total_events") != nil {
            return "; this looks like a features table (from fu-featurize), not events"
        }
        return ""
    }

    /// The error for a user whose label differs between two of its rows.
    public func labelConflict(userID: UnsafeBufferPointer<UInt8>, previous: some BinaryInteger, label: some BinaryInteger, line: Int) -> ToolError {
        ToolError.data(
            "Fake changes within user '\(String(decoding: userID, as: UTF8.self))' (\(previous) before, \(label) here)",
            at: location(line: line))
    }
}
