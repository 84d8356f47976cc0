/// The `Fake` column: "0" or "1", nothing else. Every reader of labels checks it here.
extension TableReader {
    /// The label in `row`'s `column`, or nil after rejecting the row (skipped and counted,
    /// or thrown, as the reader says).
    public func label(_ row: Row, column: Int) throws -> UInt8? {
        let text = row.field(column)
        if text.count == 1, text[0] == UInt8(ascii: "0") || text[0] == UInt8(ascii: "1") {
            return text[0] - UInt8(ascii: "0")
        }
        try reject("Fake must be 0 or 1, found '\(String(decoding: text, as: UTF8.self))'", line: row.line)
        return nil
    }

    /// The error for a user whose label differs between two of its rows.
    public func labelConflict(userID: UnsafeBufferPointer<UInt8>, previous: some BinaryInteger, label: some BinaryInteger, line: Int) -> ToolError {
        ToolError.data(
            "Fake changes within user '\(String(decoding: userID, as: UTF8.self))' (\(previous) before, \(label) here)",
            at: location(line: line))
    }
}
