/// A byte-level JSON parser. `parseObject` reads one flat object (a JSON Lines row): values
/// are strings, numbers, booleans or null, and numbers keep their literal text so they
/// round-trip exactly. `parseDocument` reads any JSON document (a model file).
struct JSONParser {
    struct Failure: Error {
        var message: String
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parseObject(_ visit: ([UInt8], [UInt8]) throws -> Void) throws {
        try parseFlatObject(visit)
        skipSpace()
        if index != bytes.count { throw Failure(message: "unexpected text after the JSON object") }
    }

    /// A JSON array of flat objects (an HTTP request's events): calls `element` with each
    /// object's byte range, after checking it as `parseObject` would.
    mutating func parseArrayOfFlatObjects(_ element: (Range<Int>) throws -> Void) throws {
        skipSpace()
        try expect(UInt8(ascii: "["), "expected a JSON array of objects")
        try parseItems(until: UInt8(ascii: "]")) { parser in
            parser.skipSpace()
            let start = parser.index
            try parser.parseFlatObject { _, _ in }
            try element(start..<parser.index)
        }
        skipSpace()
        if index != bytes.count { throw Failure(message: "unexpected text after the JSON array") }
    }

    /// JSON Lines' hot path, so written out rather than through `parseMembers`' closure
    /// (which cost a tenth of fu-featurize's time on JSON Lines).
    private mutating func parseFlatObject(_ visit: ([UInt8], [UInt8]) throws -> Void) throws {
        skipSpace()
        try expect(UInt8(ascii: "{"), "expected a JSON object")
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else { throw Failure(message: "expected a string key") }
            let key = try parseString()
            skipSpace()
            try expect(UInt8(ascii: ":"), "expected ':' after a key")
            skipSpace()
            try visit(key, try parseValue())
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "}"), "expected ',' or '}'")
            return
        }
    }

    /// A whole document, nested values included.
    mutating func parseDocument() throws -> JSONValue {
        skipSpace()
        let value = try parseAnyValue(depth: 0)
        skipSpace()
        if index != bytes.count { throw Failure(message: "unexpected text after the JSON value") }
        return value
    }

    private mutating func parseAnyValue(depth: Int) throws -> JSONValue {
        guard depth < 64 else { throw Failure(message: "JSON nested too deeply") }
        skipSpace()
        switch peek() {
        case UInt8(ascii: "{"):
            index += 1
            var pairs: [(String, JSONValue)] = []
            try parseMembers { parser, key in
                pairs.append((String(decoding: key, as: UTF8.self), try parser.parseAnyValue(depth: depth + 1)))
            }
            return .object(pairs)
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            try parseItems(until: UInt8(ascii: "]")) { parser in items.append(try parser.parseAnyValue(depth: depth + 1)) }
            return .array(items)
        case UInt8(ascii: "\""):
            return .string(String(decoding: try parseString(), as: UTF8.self))
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            let text = try parseNumber()
            let isInteger = !text.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
            if isInteger, let value = Int(String(decoding: text, as: UTF8.self)) { return .integer(value) }
            guard let value = text.withUnsafeBufferPointer({ parseDouble($0) }) else { throw Failure(message: "invalid JSON number") }
            return .number(value)
        }
    }

    /// After an opening bracket: `item (, item)*` then `close`, or just `close`.
    private mutating func parseItems(until close: UInt8, _ item: (inout JSONParser) throws -> Void) throws {
        skipSpace()
        if peek() == close {
            index += 1
            return
        }
        while true {
            try item(&self)
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(close, "expected ',' or '\(Character(Unicode.Scalar(close)))'")
            return
        }
    }

    /// After `{`: `"key": value` members up to `}`; `member` parses the value.
    private mutating func parseMembers(_ member: (inout JSONParser, [UInt8]) throws -> Void) throws {
        try parseItems(until: UInt8(ascii: "}")) { parser in
            parser.skipSpace()
            guard parser.peek() == UInt8(ascii: "\"") else { throw Failure(message: "expected a string key") }
            let key = try parser.parseString()
            parser.skipSpace()
            try parser.expect(UInt8(ascii: ":"), "expected ':' after a key")
            try member(&parser, key)
        }
    }

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipSpace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ message: String) throws {
        guard peek() == byte else { throw Failure(message: message) }
        index += 1
    }

    private mutating func parseValue() throws -> [UInt8] {
        guard let first = peek() else { throw Failure(message: "expected a value") }
        switch first {
        case UInt8(ascii: "\""):
            return try parseString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            throw Failure(message: "nested JSON values are not supported")
        case UInt8(ascii: "t"):
            try literal("true")
            return Array("true".utf8)
        case UInt8(ascii: "f"):
            try literal("false")
            return Array("false".utf8)
        case UInt8(ascii: "n"):
            try literal("null")
            return []
        default:
            return try parseNumber()
        }
    }

    private mutating func literal(_ word: String) throws {
        for byte in word.utf8 {
            guard peek() == byte else { throw Failure(message: "invalid JSON literal") }
            index += 1
        }
    }

    /// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func parseNumber() throws -> [UInt8] {
        let start = index
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.index
            while let byte = parser.peek(), byte >= 0x30 && byte <= 0x39 { parser.index += 1 }
            return parser.index - from
        }
        if peek() == UInt8(ascii: "-") { index += 1 }
        let integerDigits = digits(&self)
        if integerDigits == 0 { throw Failure(message: "expected a value") }
        if integerDigits > 1 && bytes[index - integerDigits] == 0x30 {
            throw Failure(message: "invalid JSON number")
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            if digits(&self) == 0 { throw Failure(message: "invalid JSON number") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            if digits(&self) == 0 { throw Failure(message: "invalid JSON number") }
        }
        return Array(bytes[start..<index])
    }

    private mutating func parseString() throws -> [UInt8] {
        index += 1
        var result: [UInt8] = []
        while true {
            guard let byte = peek() else { throw Failure(message: "unterminated JSON string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return result
            case UInt8(ascii: "\\"):
                try parseEscape(into: &result)
            case 0..<0x20:
                throw Failure(message: "control character in JSON string")
            default:
                result.append(byte)
            }
        }
    }

    private mutating func parseEscape(into result: inout [UInt8]) throws {
        guard let byte = peek() else { throw Failure(message: "unterminated JSON string") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(byte)
        case UInt8(ascii: "b"): result.append(0x08)
        case UInt8(ascii: "f"): result.append(0x0C)
        case UInt8(ascii: "n"): result.append(0x0A)
        case UInt8(ascii: "r"): result.append(0x0D)
        case UInt8(ascii: "t"): result.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard peek() == UInt8(ascii: "\\") else { throw Failure(message: "invalid JSON surrogate pair") }
                index += 1
                guard peek() == UInt8(ascii: "u") else { throw Failure(message: "invalid JSON surrogate pair") }
                index += 1
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw Failure(message: "invalid JSON surrogate pair") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw Failure(message: "invalid JSON surrogate pair")
            }
            result.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            throw Failure(message: "invalid JSON escape")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek(), let digit = hexValue(byte) else { throw Failure(message: "invalid JSON \\u escape") }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: return UInt32(byte - 0x30)
        case 0x41...0x46: return UInt32(byte - 0x41 + 10)
        case 0x61...0x66: return UInt32(byte - 0x61 + 10)
        default: return nil
        }
    }
}
