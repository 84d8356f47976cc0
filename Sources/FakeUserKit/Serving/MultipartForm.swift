/// A multipart/form-data body (RFC 7578 over RFC 2046), parsed whole from memory.
///
/// Our own rather than multipart-kit's: multipart-kit 4.7.1 traps on a header name byte
/// of 0x80 or more (it indexes a 128-entry table with it), so one request could stop the
/// server. The body is already in memory (a server reads it whole, within --max-body), so
/// a parser is one linear pass with every index checked.
public struct MultipartForm: Sendable {
    public struct Part: Sendable {
        /// Header names lowercased; values as sent (invalid UTF-8 repaired).
        public var headers: [(name: String, value: String)]
        /// The part's content: a range of the body.
        public var content: Range<Int>

        /// The `name` parameter of Content-Disposition.
        public var fieldName: String? {
            headers.first { $0.name == "content-disposition" }.flatMap { headerParameter("name", in: $0.value) }
        }
    }

    /// RFC 2046: a boundary is 1 to 70 characters.
    public static let maxBoundaryLength = 70
    /// Bytes of one part's headers: they are a few lines.
    public static let maxHeaderBytes = 16 << 10

    public var parts: [Part]

    /// A problem with the body, worded for the client.
    public struct Failure: Error, Sendable, Equatable {
        public var message: String
    }

    public init(_ body: [UInt8], boundary: String) throws(Failure) {
        guard Self.isValidBoundary(boundary) else {
            throw Failure(message: "multipart boundary must be 1 to \(Self.maxBoundaryLength) characters of letters, digits and '()+_,-./:=? (RFC 2046)")
        }
        let dash = Array("--\(boundary)".utf8)
        parts = []
        // The first delimiter opens the body or follows a line break (after a preamble).
        var position: Int
        if body.starts(with: dash) {
            position = dash.count
        } else if let found = Self.find([0x0D, 0x0A] + dash, in: body, from: 0) {
            position = found + 2 + dash.count
        } else {
            throw Failure(message: "multipart body has no boundary '--\(boundary)'")
        }
        while true {
            // After a delimiter: "--" closes the body; else padding, then a line break.
            if Self.matches([0x2D, 0x2D], in: body, at: position) { return }
            while position < body.count && (body[position] == 0x20 || body[position] == 0x09) { position += 1 }
            guard let afterBreak = Self.lineBreakEnd(body, at: position) else {
                throw Failure(message: position >= body.count
                    ? "multipart body ends before its closing boundary '--\(boundary)--'"
                    : "malformed multipart body: a boundary line has text after it")
            }
            position = afterBreak
            var headers: [(name: String, value: String)] = []
            let headerStart = position
            while true {
                guard position - headerStart <= Self.maxHeaderBytes else {
                    throw Failure(message: "multipart part headers are longer than \(Self.maxHeaderBytes) bytes")
                }
                guard let lineEnd = Self.find([0x0A], in: body, from: position) else {
                    throw Failure(message: "multipart body ends before its closing boundary '--\(boundary)--'")
                }
                var line = position..<lineEnd
                if line.upperBound > line.lowerBound && body[line.upperBound - 1] == 0x0D { line = line.lowerBound..<(line.upperBound - 1) }
                position = lineEnd + 1
                if line.isEmpty { break }
                headers.append(try Self.header(body[line]))
            }
            // The content runs to the next delimiter, which starts with a line break (CRLF,
            // or a bare LF from lenient clients).
            guard let next = Self.find([0x0A] + dash, in: body, from: position - 1) else {
                throw Failure(message: "multipart body ends before its closing boundary '--\(boundary)--'")
            }
            var contentEnd = max(next, position)
            if contentEnd > position && body[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            parts.append(Part(headers: headers, content: position..<contentEnd))
            position = next + 1 + dash.count
        }
    }

    /// The content of the first part named `name`.
    public func field(_ name: String, in body: [UInt8]) -> [UInt8]? {
        parts.first { $0.fieldName == name }.map { Array(body[$0.content]) }
    }

    static func isValidBoundary(_ boundary: String) -> Bool {
        let bytes = Array(boundary.utf8)
        guard (1...maxBoundaryLength).contains(bytes.count), bytes.last != 0x20 else { return false }
        return bytes.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || Array("'()+_,-./:=? ".utf8).contains(byte)
        }
    }

    /// `Name: value`; the name must be an RFC 7230 token.
    private static func header(_ line: ArraySlice<UInt8>) throws(Failure) -> (name: String, value: String) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
            line[line.startIndex..<colon].allSatisfy(isTokenByte)
        else {
            throw Failure(message: "malformed multipart part header: expected 'Name: value'")
        }
        let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces()
        return (name, value)
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && !Array("\"(),/:;<=>?@[\\]{}".utf8).contains(byte)
    }

    private static func matches(_ needle: [UInt8], in body: [UInt8], at position: Int) -> Bool {
        position + needle.count <= body.count && body[position..<(position + needle.count)].elementsEqual(needle)
    }

    /// The index after CRLF or LF at `position`, or nil.
    private static func lineBreakEnd(_ body: [UInt8], at position: Int) -> Int? {
        if matches([0x0D, 0x0A], in: body, at: position) { return position + 2 }
        if matches([0x0A], in: body, at: position) { return position + 1 }
        return nil
    }

    /// The first index of `needle` at or after `start`, by Knuth-Morris-Pratt: linear in
    /// the body whatever the bytes (a naive search of a long boundary in a body of dashes
    /// was a 65 s denial of service).
    static func find(_ needle: [UInt8], in body: [UInt8], from start: Int) -> Int? {
        guard start >= 0, start <= body.count, !needle.isEmpty else { return nil }
        var failure = [Int](repeating: 0, count: needle.count)
        var k = 0
        for i in 1..<max(needle.count, 1) {
            while k > 0 && needle[i] != needle[k] { k = failure[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            failure[i] = k
        }
        return body.withUnsafeBufferPointer { bytes in
            var matched = 0
            for i in start..<bytes.count {
                while matched > 0 && bytes[i] != needle[matched] { matched = failure[matched - 1] }
                if bytes[i] == needle[matched] { matched += 1 }
                if matched == needle.count { return i + 1 - needle.count }
            }
            return nil
        }
    }
}

/// A `name=value` parameter of a header such as Content-Type or Content-Disposition
/// (quotes around the value removed).
public func headerParameter(_ name: String, in header: String) -> String? {
    for part in header.split(separator: ";").dropFirst() {
        let pair = part.split(separator: "=", maxSplits: 1)
        guard pair.count == 2, String(pair[0]).trimmingSpaces().lowercased() == name else { continue }
        var value = String(pair[1]).trimmingSpaces()
        if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        return value
    }
    return nil
}

extension String {
    /// Without leading and trailing spaces and tabs (no Foundation in the library).
    func trimmingSpaces() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[first...last])
    }
}
