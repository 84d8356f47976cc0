/// A JSON document with ordered object keys, so fu's JSON files (models, metrics) come out
/// in a fixed, readable order and diff cleanly between runs.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.integer(x), .integer(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// A double, or null when it is not finite (JSON has no NaN).
    public static func finite(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    public static func numbers(_ values: [Double]) -> JSONValue { .array(values.map { .finite($0) }) }

    // MARK: Reading

    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    public var doubleValue: Double? {
        switch self {
        case .number(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    public var intValue: Int? {
        switch self {
        case .integer(let value): return value
        case .number(let value) where value.rounded() == value && abs(value) < 1e15: return Int(value)
        default: return nil
        }
    }

    /// Where the first number too large for a double (`1e999`, read as infinity) is, as a
    /// key path such as `per_fold[2].auc`; nil when every number is finite.
    public func firstNonFiniteNumber(at path: String = "") -> String? {
        switch self {
        case .number(let value): return value.isFinite ? nil : path
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = item.firstNonFiniteNumber(at: "\(path)[\(index)]") { return found }
            }
        case .object(let pairs):
            for (key, value) in pairs {
                if let found = value.firstNonFiniteNumber(at: path.isEmpty ? key : "\(path).\(key)") { return found }
            }
        default: break
        }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// Parses a JSON document, or says what is wrong with it.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer in
            guard isValidUTF8(buffer) else { throw JSONParser.Failure(message: "invalid UTF-8") }
            var parser = JSONParser(bytes: buffer)
            return try parser.parseDocument()
        }
    }

    // MARK: Writing

    /// Pretty-printed with two-space indents; short arrays of scalars stay on one line.
    public func rendered() -> String {
        var out = ""
        render(into: &out, indent: 0)
        return out + "\n"
    }

    private func render(into out: inout String, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .number(let value):
            if value.isFinite {
                out += value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
            } else {
                out += "null"
            }
        case .string(let value): out += jsonString(value)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
            } else if items.count <= 4 && items.allSatisfy(\.isScalar) {
                out += "["
                for (index, item) in items.enumerated() {
                    if index > 0 { out += ", " }
                    item.render(into: &out, indent: indent)
                }
                out += "]"
            } else {
                out += "[\n"
                for (index, item) in items.enumerated() {
                    out += String(repeating: "  ", count: indent + 1)
                    item.render(into: &out, indent: indent + 1)
                    out += index == items.count - 1 ? "\n" : ",\n"
                }
                out += String(repeating: "  ", count: indent) + "]"
            }
        case .object(let pairs):
            if pairs.isEmpty {
                out += "{}"
                return
            }
            out += "{\n"
            for (index, (key, value)) in pairs.enumerated() {
                out += String(repeating: "  ", count: indent + 1) + jsonString(key) + ": "
                value.render(into: &out, indent: indent + 1)
                out += index == pairs.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "  ", count: indent) + "}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }
}

/// Writes a JSON document to a file (atomically) or stdout.
public func writeJSON(_ value: JSONValue, to path: String?) throws {
    let output = try ByteOutput(path: path, compress: path?.hasSuffix(".zst") == true ? true : false)
    try output.write(value.rendered())
    try output.commit()
}

/// Reads a whole JSON document from a file (plain or zstd).
public func readJSON(_ path: String, what: String) throws -> JSONValue {
    try parseJSON(try readDocument(path, what: what), name: path, what: what)
}

/// Parses a whole JSON document; `name` and `what` go into the error.
public func parseJSON(_ bytes: [UInt8], name: String, what: String) throws -> JSONValue {
    do {
        return try JSONValue.parse(bytes)
    } catch let error as JSONParser.Failure {
        throw ToolError.data("\(what) is not valid JSON: \(error.message)", at: InputLocation(file: name))
    }
}
