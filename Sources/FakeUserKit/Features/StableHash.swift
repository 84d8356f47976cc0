/// FNV-1a, 64 bit, over raw bytes: the same value on every machine and in every run, so a
/// user always lands in the same shard or split, whatever else the file holds.
@inline(__always)
public func stableHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    guard let base = bytes.baseAddress else { return hash }
    // A pointer loop: the buffer iterator's checks cost a tenth of fu-featurize's parsing.
    for i in 0..<bytes.count {
        hash = (hash ^ UInt64(base[i])) &* 0x0000_0100_0000_01B3
    }
    return hash
}

/// A hash for in-memory indexes of UserIds (`CompactCounts`, `UserIndex`, `SlotIndex`),
/// several times cheaper than FNV-1a's byte-by-byte chain: the id's first 16 bytes as two
/// words and its length, mixed by multiplication (longer ids add FNV-1a of the rest). Not
/// stable across versions: never for shards or splits.
@inline(__always)
func indexHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    let (first, second) = UserIDs.prefix(bytes)
    var hash = (first &* 0x9E37_79B9_7F4A_7C15) ^ (second &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(bytes.count)
    if bytes.count > 16 { hash ^= stableHash(UnsafeBufferPointer(rebasing: bytes[16...])) }
    hash ^= hash >> 32
    hash &*= 0xD6E8_FEB8_6659_FD93
    return hash ^ (hash >> 32)
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
