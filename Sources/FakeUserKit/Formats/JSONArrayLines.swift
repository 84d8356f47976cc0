/// A JSON array of flat event objects (`[{"UserId": …}, …]`, as an HTTP client sends it)
/// rewritten as JSON Lines, one object a line, so the table reader takes it like any other
/// input. `lines[i]` is the body line where element i starts, so errors the reader finds in
/// the rewritten text can name the line of the original body.
public struct JSONArrayLines: Sendable {
    public var bytes: [UInt8]
    public var lines: [Int]

    /// Checks the whole array first: a syntax error names its line in `name`.
    public init(_ body: [UInt8], name: String) throws {
        var bytes: [UInt8] = []
        var lines: [Int] = []
        bytes.reserveCapacity(body.count)
        try body.withUnsafeBufferPointer { buffer in
            guard isValidUTF8(buffer) else { throw ToolError.data("invalid UTF-8", at: InputLocation(file: name)) }
            var parser = JSONParser(bytes: buffer)
            if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
            var line = 1
            var counted = 0
            func lineAt(_ offset: Int) -> Int {
                for i in counted..<offset where buffer[i] == 0x0A { line += 1 }
                counted = max(counted, offset)
                return line
            }
            do {
                try parser.parseArrayOfFlatObjects { range in
                    lines.append(lineAt(range.lowerBound))
                    // Line breaks between an object's tokens become spaces; a string cannot
                    // hold a raw one, so no value changes.
                    for i in range {
                        let byte = buffer[i]
                        bytes.append(byte == 0x0A || byte == 0x0D ? 0x20 : byte)
                    }
                    bytes.append(0x0A)
                }
            } catch let failure as JSONParser.Failure {
                throw ToolError.data(failure.message, at: InputLocation(file: name, line: lineAt(min(parser.index, buffer.count))))
            }
        }
        self.bytes = bytes
        self.lines = lines
    }

    /// The body line of a line of the rewritten text (1-based both).
    public func bodyLine(_ rewrittenLine: Int) -> Int {
        (1...lines.count).contains(rewrittenLine) ? lines[rewrittenLine - 1] : rewrittenLine
    }
}
