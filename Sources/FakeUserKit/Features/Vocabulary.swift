#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interns the few distinct values of a column (event types, categories) as small ids,
/// in order of first appearance. A name's fingerprint (its length and two words) picks an
/// entry of a small table holding the id most likely its; a linear scan (comparing
/// fingerprints before any bytes) settles the rest. The scan alone, or with a last-hit
/// shortcut, mispredicted a branch at nearly every row of mixed types: a third of
/// parsing an event row.
struct Vocabulary {
    private(set) var names: [[UInt8]] = []
    private var fingerprints: [Fingerprint] = []
    /// Fingerprint hash → id + 1 (0: none): the first name of each hash.
    private var likely = [UInt8](repeating: 0, count: Vocabulary.likelyCount)
    private static let likelyCount = 256

    var count: Int { names.count }

    init(_ initial: [String] = []) {
        for name in initial { _ = id(for: Array(name.utf8)) }
    }

    /// A name's length and its first and last 8 bytes, overlapping (a name shorter than 8:
    /// its bytes as a little-endian word, and 0): for a name of at most 16 bytes, equal
    /// fingerprints mean equal names.
    private struct Fingerprint {
        var count: Int
        var head: UInt64
        var tail: UInt64

        @inline(__always)
        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            count = bytes.count
            guard let base = bytes.baseAddress.map(UnsafeRawPointer.init) else {
                (head, tail) = (0, 0)
                return
            }
            if count >= 8 {
                head = base.loadUnaligned(as: UInt64.self)
                tail = (base + count - 8).loadUnaligned(as: UInt64.self)
            } else if count >= 4 {
                // The first and last 4 bytes, overlapping, put where a word load puts them.
                head = UInt64(base.loadUnaligned(as: UInt32.self))
                    | UInt64((base + count - 4).loadUnaligned(as: UInt32.self)) << UInt64(8 * (count - 4))
                tail = 0
            } else {
                head = 0
                for i in 0..<count { head |= UInt64(bytes[i]) << UInt64(8 * i) }
                tail = 0
            }
        }

        /// The same fingerprint with no branch on the length (the parser's names vary in
        /// length row by row, and the branches above mispredicted), for a name whose
        /// first 8 bytes may be read however short it is.
        @inline(__always)
        init(readable8 bytes: UnsafeBufferPointer<UInt8>) {
            count = bytes.count
            let base = UnsafeRawPointer(bytes.baseAddress!)
            let long = UInt64(bitPattern: Int64((7 - count) >> 63))  // all ones from 8 bytes on
            let low: UInt64 = (1 << (UInt64(8 * count) & 63)) &- 1
            head = base.loadUnaligned(as: UInt64.self) & (long | low)
            tail = (base + max(count, 8) - 8).loadUnaligned(as: UInt64.self) & long
        }

        @inline(__always)
        func matches(_ other: Fingerprint) -> Bool {
            (head ^ other.head) | (tail ^ other.tail) | UInt64(bitPattern: Int64(count ^ other.count)) == 0
        }

        /// An entry of `likely`.
        @inline(__always)
        var hash: Int {
            let mixed = (head ^ (tail &* 0x9E37_79B9_7F4A_7C15)) &+ UInt64(truncatingIfNeeded: count)
            return Int(truncatingIfNeeded: (mixed &* 0xD6E8_FEB8_6659_FD93) >> 56)
        }
    }

    /// Forgets the names from `count` on (a name refused after it was added).
    mutating func truncate(to count: Int) {
        guard count < names.count else { return }
        names.removeSubrange(count...)
        fingerprints.removeSubrange(count...)
        for entry in likely.indices where Int(likely[entry]) > count { likely[entry] = 0 }
    }

    @inline(__always)
    mutating func id(for bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let key = Fingerprint(bytes)
        let hash = key.hash
        let found = find(key, hash: hash, bytes)
        if found >= 0 { return found }
        names.append(Array(bytes))
        fingerprints.append(key)
        // Ids past 255 are found by the scan (the parser allows 64).
        if likely[hash] == 0 && names.count <= 255 { likely[hash] = UInt8(names.count) }
        return names.count - 1
    }

    /// The id of a name already known, or nil (then `id(for:)` adds it). `readable8`: the
    /// name is not empty, and its first 8 bytes may be read however short it is.
    @inline(__always)
    func knownID(for bytes: UnsafeBufferPointer<UInt8>, readable8: Bool = false) -> Int? {
        let key = readable8 ? Fingerprint(readable8: bytes) : Fingerprint(bytes)
        let found = find(key, hash: key.hash, bytes)
        return found >= 0 ? found : nil
    }

    /// The id whose fingerprint (and, past 16 bytes, name) is `key`'s, or -1.
    @inline(__always)
    private func find(_ key: Fingerprint, hash: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        fingerprints.withUnsafeBufferPointer { known -> Int in
            let guess = likely.withUnsafeBufferPointer { Int($0[hash]) - 1 }
            if guess >= 0 && known[guess].matches(key) && (key.count <= 16 || Vocabulary.equal(names[guess], bytes)) {
                return guess
            }
            for index in 0..<known.count where known[index].matches(key) && (key.count <= 16 || Vocabulary.equal(names[index], bytes)) {
                return index
            }
            return -1
        }
    }

    private static func equal(_ name: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        name.count == bytes.count && name.withUnsafeBufferPointer { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
    }

    mutating func id(for bytes: [UInt8]) -> Int {
        bytes.withUnsafeBufferPointer { id(for: $0) }
    }

    func lookup(_ name: String) -> Int? {
        names.firstIndex { $0.elementsEqual(name.utf8) }
    }

    func name(_ id: Int) -> String { String(decoding: names[id], as: UTF8.self) }

    /// Ids in byte order of their names: sums run in this order so that results do not
    /// depend on which value happened to come first in the file (shards must agree).
    func idsSortedByName() -> [Int] {
        names.indices.sorted { names[$0].lexicographicallyPrecedes(names[$1]) }
    }
}
