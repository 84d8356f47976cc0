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
        if lastHit >= 0 && names[lastHit].elementsEqual(bytes) { return lastHit }
        for (index, name) in names.enumerated() where name.elementsEqual(bytes) {
            lastHit = index
            return index
        }
        names.append(Array(bytes))
        lastHit = names.count - 1
        return lastHit
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
