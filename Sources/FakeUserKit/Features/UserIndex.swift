#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// UserId bytes → dense user number, with the ids kept in one byte arena. Open addressing
/// over the (already computed) stable hash: no String and no allocation per user.
final class UserIndex {
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity = 1 << 16
    private var arenaCount = 0
    private(set) var starts: [Int] = []
    private(set) var lengths: [Int32] = []
    private var hashes: [UInt64] = []
    private var slots: UnsafeMutablePointer<Int32>
    private var slotMask: Int

    var count: Int { starts.count }

    init() {
        arena = .allocate(capacity: arenaCapacity)
        slotMask = (1 << 12) - 1
        slots = .allocate(capacity: slotMask + 1)
        slots.initialize(repeating: -1, count: slotMask + 1)
    }

    deinit {
        arena.deallocate()
        slots.deallocate()
    }

    func id(_ user: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + starts[user], count: Int(lengths[user]))
    }

    /// The user's number, adding the user when new.
    @inline(__always)
    func findOrInsert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int {
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let user = Int(slots[slot])
            if user < 0 { break }
            if hashes[user] == hash && Int(lengths[user]) == bytes.count
                && memcmp(arena + starts[user], bytes.baseAddress!, bytes.count) == 0 {
                return user
            }
            slot = (slot + 1) & slotMask
        }
        let user = starts.count
        append(bytes, hash: hash)
        slots[slot] = Int32(user)
        if count * 2 > slotMask { rehash() }
        return user
    }

    private func append(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) {
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
        hashes.append(hash)
        arenaCount += bytes.count
    }

    private func rehash() {
        slots.deallocate()
        slotMask = (slotMask + 1) * 2 - 1
        slots = .allocate(capacity: slotMask + 1)
        slots.initialize(repeating: -1, count: slotMask + 1)
        for user in 0..<count {
            var slot = Int(truncatingIfNeeded: hashes[user]) & slotMask
            while slots[slot] >= 0 { slot = (slot + 1) & slotMask }
            slots[slot] = Int32(user)
        }
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
