#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// UserId bytes → dense user number, with the ids kept in one byte arena. Open addressing
/// over the (already computed) stable hash; each 32-byte slot holds the hash, the user
/// number, the id's length and its first 16 bytes, so a lookup of a typical id touches one
/// cache line and never the arena. No String and no allocation per user.
final class UserIndex {
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity = 1 << 16
    private var arenaCount = 0
    private(set) var starts: [Int] = []
    private(set) var lengths: [Int32] = []
    /// Four words a slot: hash, (user + 1) | length << 32, then 16 id bytes zero-padded.
    private var slots: UnsafeMutablePointer<UInt64>
    private var slotMask: Int

    var count: Int { starts.count }

    /// `initialSlots` is a power of two; the table doubles as users arrive.
    init(initialSlots: Int = 1 << 12) {
        arena = .allocate(capacity: arenaCapacity)
        slotMask = initialSlots - 1
        slots = .allocate(capacity: 4 * (slotMask + 1))
        slots.initialize(repeating: 0, count: 4 * (slotMask + 1))
    }

    deinit {
        arena.deallocate()
        slots.deallocate()
    }

    func id(_ user: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + starts[user], count: Int(lengths[user]))
    }

    /// Loads the slot a hash starts probing at, so that a batch of lookups can have their
    /// cache misses in flight together (see `Featurizer`). Returns a word to keep it alive.
    @inline(__always)
    func touch(hash: UInt64) -> UInt64 {
        slots[4 * (Int(truncatingIfNeeded: hash) & slotMask)]
    }

    /// The first 16 bytes of an id as two words, zero-padded.
    @inline(__always)
    private static func prefix(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        var words: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: min(bytes.count, 16)) }
        return words
    }

    /// The user's number, adding the user when new.
    @inline(__always)
    func findOrInsert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int {
        let (first, second) = UserIndex.prefix(bytes)
        let length = UInt64(bytes.count)
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let entry = slots + 4 * slot
            let userAndLength = entry[1]
            if userAndLength == 0 { break }
            if entry[0] == hash && userAndLength >> 32 == length && entry[2] == first && entry[3] == second {
                let user = Int(userAndLength & 0xFFFF_FFFF) - 1
                if bytes.count <= 16 || memcmp(arena + starts[user] + 16, bytes.baseAddress! + 16, bytes.count - 16) == 0 {
                    return user
                }
            }
            slot = (slot + 1) & slotMask
        }
        let user = starts.count
        append(bytes)
        let entry = slots + 4 * slot
        entry[0] = hash
        entry[1] = UInt64(user + 1) | length << 32
        entry[2] = first
        entry[3] = second
        if count * 4 > slotMask * 3 { rehash() }
        return user
    }

    private func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        if arenaCount + bytes.count > arenaCapacity {
            let grown = max(arenaCapacity * 2, arenaCount + bytes.count)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            bigger.update(from: arena, count: arenaCount)
            arena.deallocate()
            arena = bigger
            arenaCapacity = grown
        }
        (arena + arenaCount).update(from: bytes.baseAddress!, count: bytes.count)
        starts.append(arenaCount)
        lengths.append(Int32(bytes.count))
        arenaCount += bytes.count
    }

    private func rehash() {
        let old = slots
        let oldCount = slotMask + 1
        slotMask = oldCount * 2 - 1
        slots = .allocate(capacity: 4 * (slotMask + 1))
        slots.initialize(repeating: 0, count: 4 * (slotMask + 1))
        for index in 0..<oldCount where old[4 * index + 1] != 0 {
            var slot = Int(truncatingIfNeeded: old[4 * index]) & slotMask
            while slots[4 * slot + 1] != 0 { slot = (slot + 1) & slotMask }
            (slots + 4 * slot).update(from: old + 4 * index, count: 4)
        }
        old.deallocate()
    }

    /// User numbers in byte order of their ids, the order of every output.
    func sortedByID() -> [Int] {
        // An 8-byte big-endian prefix decides most comparisons without touching the arena.
        let prefixes = (0..<count).map { user -> UInt64 in
            var prefix: UInt64 = 0
            let bytes = id(user)
            for i in 0..<8 { prefix = prefix << 8 | UInt64(i < bytes.count ? bytes[i] : 0) }
            return prefix
        }
        return (0..<count).sorted { a, b in
            if prefixes[a] != prefixes[b] { return prefixes[a] < prefixes[b] }
            return compareIDs(id(a), id(b)) < 0
        }
    }
}

/// Byte order of two ids (shorter first when one is a prefix of the other).
func compareIDs(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
    let common = min(a.count, b.count)
    if common > 0 {
        let order = memcmp(a.baseAddress!, b.baseAddress!, common)
        if order != 0 { return Int(order) }
    }
    return a.count - b.count
}
