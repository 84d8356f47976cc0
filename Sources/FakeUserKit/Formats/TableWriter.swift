#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes rows as CSV (quoting only where RFC 4180 needs it) or JSON Lines, with the
/// same calls: `field(...)` once per column, then `endRow()`.
public final class TableWriter {
    public let output: ByteOutput
    public let format: TableFormat
    public let columns: [String]
    /// JSON keys, pre-encoded as `"name":` with their separators.
    private let jsonKeys: [[UInt8]]
    private var column = 0
    private var numbers = NumberFormatterCache()

    /// `writeHeader` false continues a table whose header was written elsewhere.
    public init(_ output: ByteOutput, format: TableFormat, columns: [String], writeHeader: Bool = true) throws {
        self.output = output
        self.format = format
        self.columns = columns
        jsonKeys = columns.enumerated().map { index, name in
            Array(((index == 0 ? "{" : ",") + jsonString(name) + ":").utf8)
        }
        if format == .csv && writeHeader {
            for name in columns { try field(name) }
            try endRow()
        }
    }

    @inline(__always)
    private func beginField() throws {
        switch format {
        case .csv:
            if column > 0 { try output.write(byte: UInt8(ascii: ",")) }
        case .jsonl:
            try output.write(jsonKeys[column])
        }
        column += 1
    }

    public func field(_ text: String) throws {
        try beginField()
        switch format {
        case .csv:
            if text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
                var quoted = "\""
                for character in text {
                    quoted.append(character)
                    if character == "\"" { quoted.append("\"") }
                }
                try output.write(quoted + "\"")
            } else {
                try output.write(text)
            }
        case .jsonl:
            try output.write(jsonString(text))
        }
    }

    /// Whether a text field's bytes are written another way than as they are (CSV quoting,
    /// JSON escapes).
    @inline(__always)
    private static func needsQuoting(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D || $0 == 0x5C || $0 < 0x20 }
    }

    /// A text field given as bytes (e.g. a UserId straight from the reader).
    public func field(bytes: UnsafeBufferPointer<UInt8>) throws {
        if TableWriter.needsQuoting(bytes) {
            try field(String(decoding: bytes, as: UTF8.self))
            return
        }
        try beginField()
        if format == .jsonl { try output.write(byte: UInt8(ascii: "\"")) }
        try output.write(bytes)
        if format == .jsonl { try output.write(byte: UInt8(ascii: "\"")) }
    }

    /// A value copied from another table: JSON Lines keeps numbers as numbers, text as strings.
    public func field(value bytes: UnsafeBufferPointer<UInt8>) throws {
        if format == .jsonl && !bytes.isEmpty && parseDouble(bytes)?.isFinite == true && isJSONNumber(bytes) {
            try beginField()
            try output.write(bytes)
        } else {
            try field(bytes: bytes)
        }
    }

    /// Bytes written as they are: in CSV a field the caller knows needs no quoting, in
    /// JSON Lines a JSON value (an array or object in one row).
    public func field(raw bytes: [UInt8]) throws {
        try beginField()
        try output.write(bytes)
    }

    public func field(_ value: Int) throws {
        try beginField()
        let pointer = try output.reserve(24)
        output.advance(formatInteger(value, into: pointer))
    }

    /// A float in the shortest text that reads back to the same double (as Python and pandas
    /// print it); integral values print without a point.
    public func field(_ value: Double) throws {
        try beginField()
        let pointer = try output.reserve(32)
        output.advance(numbers.format(value, into: pointer))
    }

    /// A whole CSV row: a text field, an optional integer, then numbers (`integral[i]`:
    /// `values[i]` as an integer), formatted straight into the output, the same bytes as
    /// the calls per field. fu-featurize writes a row per user, and those calls were a third
    /// of its output's time. Returns false, having written nothing, for JSON Lines, a text
    /// that needs quoting, or a row that may not fit the output's buffer: then the caller
    /// writes the fields one by one.
    func numberRow(text: UnsafeBufferPointer<UInt8>, integer: Int?, values: UnsafeBufferPointer<Double>, integral: UnsafeBufferPointer<Bool>) throws -> Bool {
        // 24 bytes an integer, 32 a number (as in `field`), a separator each, and the newline.
        let longest = text.count + 25 + 33 * values.count + 1
        guard format == .csv, column == 0, longest <= ByteOutput.bufferCapacity, !TableWriter.needsQuoting(text) else { return false }
        let start = try output.reserve(longest)
        var p = start
        if let textStart = text.baseAddress { p.update(from: textStart, count: text.count) }
        p += text.count
        if let integer {
            p[0] = UInt8(ascii: ",")
            p += 1 + formatInteger(integer, into: p + 1)
        }
        for (value, isIntegral) in zip(values, integral) {
            p[0] = UInt8(ascii: ",")
            p += 1 + (isIntegral ? formatInteger(Int(value), into: p + 1) : numbers.format(value, into: p + 1))
        }
        p[0] = 0x0A
        output.advance(p + 1 - start)
        return true
    }

    public func endRow() throws {
        if format == .jsonl { try output.write(byte: UInt8(ascii: "}")) }
        try output.write(byte: 0x0A)
        column = 0
    }
}

/// True when the text is a number in JSON's grammar (no leading '+', no leading zeros, no bare '.').
func isJSONNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var parser = JSONParser(bytes: bytes)
    return (try? parser.parseDocument()).map { if case .integer = $0 { return true }; if case .number = $0 { return true }; return false } ?? false
}

/// Decimal digits of an integer; returns the length.
@inline(__always)
func formatInteger(_ value: Int, into pointer: UnsafeMutablePointer<UInt8>) -> Int {
    // Most counts in a features table have one or two digits.
    if UInt(bitPattern: value) < 100 {
        if value < 10 {
            pointer[0] = UInt8(truncatingIfNeeded: value) + 0x30
            return 1
        }
        pointer[0] = UInt8(truncatingIfNeeded: value / 10) + 0x30
        pointer[1] = UInt8(truncatingIfNeeded: value % 10) + 0x30
        return 2
    }
    var magnitude = value.magnitude
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
    return withUnsafeMutableBytes(of: &digits) { raw in
        var n = 0
        repeat {
            raw[23 - n] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
            magnitude /= 10
            n += 1
        } while magnitude > 0
        var length = 0
        if value < 0 {
            pointer[0] = UInt8(ascii: "-")
            length = 1
        }
        for i in 0..<n { pointer[length + i] = raw[24 - n + i] }
        return length + n
    }
}

/// Feature values repeat a lot (ratios of small counts), so recent results of the shortest
/// round-trip conversion are kept in a direct-mapped cache keyed by the value's bits.
struct NumberFormatterCache {
    enum Style {
        /// `%.17g`
        case g17
        /// The shortest text that reads back to the same double, integral values without a
        /// point (`0.8`, `3`, `1e-05`): for people.
        case shortest
    }

    private static let slots = 1 << 14
    private let style: Style
    /// Numbers formatted before the cache is set up: a small output (a server's answer)
    /// would spend more on clearing the cache's 670 KB than the cache saves.
    private static let uncachedCalls = 8192
    private var calls = 0
    private var keys: [UInt64] = []
    private var lengths: [UInt8] = []
    private var texts: [UInt8] = []

    init(style: Style = .g17) {
        self.style = style
    }

    private func formatted(_ value: Double, into pointer: UnsafeMutablePointer<UInt8>) -> Int {
        guard style == .shortest else { return formatDouble(value, into: pointer) }
        let text = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : value.description
        var length = 0
        for byte in text.utf8.prefix(32) {
            pointer[length] = byte
            length += 1
        }
        return length
    }

    /// Writes `value`'s text at `pointer`, which has room for 32 bytes; returns its length.
    mutating func format(_ value: Double, into pointer: UnsafeMutablePointer<UInt8>) -> Int {
        if keys.isEmpty {
            calls += 1
            if calls < Self.uncachedCalls { return formatted(value, into: pointer) }
            keys = [UInt64](repeating: UInt64.max, count: Self.slots)
            lengths = [UInt8](repeating: 0, count: Self.slots)
            texts = [UInt8](repeating: 0, count: Self.slots * 32)
        }
        let bits = value.bitPattern
        let slot = Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) >> 50)
        if keys[slot] == bits {
            // The whole slot in four words, not a call to memmove for its few bytes: the
            // caller's room is 32 bytes, the bytes past `length` are written over next.
            texts.withUnsafeBufferPointer {
                let from = UnsafeRawPointer($0.baseAddress! + slot * 32)
                let to = UnsafeMutableRawPointer(pointer)
                for word in 0..<4 { to.storeBytes(of: from.loadUnaligned(fromByteOffset: 8 * word, as: UInt64.self), toByteOffset: 8 * word, as: UInt64.self) }
            }
            return Int(lengths[slot])
        }
        let length = formatted(value, into: pointer)
        keys[slot] = bits
        lengths[slot] = UInt8(length)
        texts.withUnsafeMutableBufferPointer { ($0.baseAddress! + slot * 32).update(from: pointer, count: length) }
        return length
    }
}

/// Double's description is the shortest text that reads back to the same double, the same
/// as Python's repr; integral values lose its ".0".
func formatDouble(_ value: Double, into pointer: UnsafeMutablePointer<UInt8>) -> Int {
    var text = value.description
    return text.withUTF8 { bytes in
        var count = bytes.count
        if count >= 2 && bytes[count - 2] == UInt8(ascii: ".") && bytes[count - 1] == UInt8(ascii: "0") { count -= 2 }
        pointer.update(from: bytes.baseAddress!, count: count)
        return count
    }
}

/// A JSON string literal with the escapes JSON requires.
public func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
