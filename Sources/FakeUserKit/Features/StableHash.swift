/// FNV-1a, 64 bit, over raw bytes: the same value on every machine and in every run, so a
/// user always lands in the same shard or split, whatever else the file holds.
@inline(__always)
public func stableHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }
    return hash
}

public func stableHash(_ text: String) -> UInt64 {
    var text = text
    return text.withUTF8 { stableHash($0) }
}

/// `--shard i/n`: keeps the users whose stable hash mod n is i.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, index >= 0, index < count else {
            throw ToolError.usage("invalid shard \(index)/\(count): expected i/n with 0 <= i < n")
        }
        self.index = index
        self.count = count
    }

    /// Parses "i/n".
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ToolError.usage("invalid shard '\(text)': expected i/n, e.g. 0/4")
        }
        try self.init(index: index, count: count)
    }

    @inline(__always)
    public func contains(hash: UInt64) -> Bool {
        hash % UInt64(count) == UInt64(index)
    }

    public var description: String { "\(index)/\(count)" }
}
