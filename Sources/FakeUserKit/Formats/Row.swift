/// One record of a table, as byte ranges into the reader's buffer. It is a view: valid only
/// until the reader's next call, so hot loops never allocate a String per field.
public struct Row {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let bounds: UnsafePointer<Int>
    public let count: Int
    /// 1-based line on which the record starts, for error messages.
    public let line: Int

    @inlinable
    public func field(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        let start = bounds[2 * index]
        return UnsafeBufferPointer(start: base + start, count: bounds[2 * index + 1] - start)
    }

    public func string(_ index: Int) -> String {
        String(decoding: field(index), as: UTF8.self)
    }
}

public enum TableFormat: String, Sendable, CaseIterable {
    case csv
    case jsonl
}

extension UnsafeBufferPointer where Element == UInt8 {
    @inlinable
    func equals(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        count == other.count && (count == 0 || memcmp(baseAddress!, other.baseAddress!, count) == 0)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
