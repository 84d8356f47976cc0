#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interns the few distinct values of a column (event types, categories) as small ids,
/// in order of first appearance. A linear scan with a last-hit shortcut beats hashing here;
/// it compares each name's length and two words (`Fingerprint`) before any bytes.
struct Vocabulary {
    private(set) var names: [[UInt8]] = []
    private var fingerprints: [Fingerprint] = []
    private var lastHit = -1

    var count: Int { names.count }

    init(_ initial: [String] = []) {
        for name in initial { _ = id(for: Array(name.utf8)) }
    }

    /// A name's length and its first and last 8 (or 4) bytes, overlapping: for a name of
    /// at most 16 bytes, equal fingerprints mean equal names.
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
                head = UInt64(base.loadUnaligned(as: UInt32.self))
                tail = UInt64((base + count - 4).loadUnaligned(as: UInt32.self))
            } else {
                head = 0
                for i in 0..<count { head = head << 8 | UInt64(bytes[i]) }
                tail = 0
            }
        }

        @inline(__always)
        func matches(_ other: Fingerprint) -> Bool {
            (head ^ other.head) | (tail ^ other.tail) | UInt64(bitPattern: Int64(count ^ other.count)) == 0
        }
    }

    /// Forgets the names from `count` on (a name refused after it was added).
    mutating func truncate(to count: Int) {
        guard count < names.count else { return }
        names.removeSubrange(count...)
        fingerprints.removeSubrange(count...)
        lastHit = -1
    }

    @inline(__always)
    mutating func id(for bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let key = Fingerprint(bytes)
        let found = fingerprints.withUnsafeBufferPointer { known -> Int in
            if lastHit >= 0 && known[lastHit].matches(key) && (key.count <= 16 || Vocabulary.equal(names[lastHit], bytes)) {
                return lastHit
            }
            for index in 0..<known.count where known[index].matches(key) && (key.count <= 16 || Vocabulary.equal(names[index], bytes)) {
                return index
            }
            return -1
        }
        if found >= 0 {
            lastHit = found
            return found
        }
        names.append(Array(bytes))
        fingerprints.append(key)
        lastHit = names.count - 1
        return lastHit
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
