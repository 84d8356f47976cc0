#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interns the few distinct values of a column (event types, categories) as small ids,
/// in order of first appearance. A linear scan with a last-hit shortcut beats hashing here.
struct Vocabulary {
    private(set) var names: [[UInt8]] = []
    private var lastHit = -1

    var count: Int { names.count }

    init(_ initial: [String] = []) {
        for name in initial { _ = id(for: Array(name.utf8)) }
    }

    @inline(__always)
    mutating func id(for bytes: UnsafeBufferPointer<UInt8>) -> Int {
        if lastHit >= 0 && Vocabulary.equal(names[lastHit], bytes) { return lastHit }
        for index in names.indices where Vocabulary.equal(names[index], bytes) {
            lastHit = index
            return index
        }
        names.append(Array(bytes))
        lastHit = names.count - 1
        return lastHit
    }

    @inline(__always)
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
