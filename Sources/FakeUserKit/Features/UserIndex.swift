import CIntrinsics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ids of a table's users, numbered in order of arrival, in one byte arena: no String
/// and no allocation per user. Shared by the indexes that number users (`UserIndex`,
/// `CompactCounts`), so one can take over from the other.
final class UserIDs {
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity = 1 << 16
    private var arenaCount = 0
    /// Where each user's id starts in `arena`, and its length: buffers of their own rather
    /// than arrays, so the output's loop reads (and asks ahead for) them with no retain and
    /// release a row.
    private var starts: UnsafeMutablePointer<Int>
    private var lengths: UnsafeMutablePointer<Int32>
    private var userCapacity = 1 << 10
    private(set) var count = 0

    init() {
        arena = .allocate(capacity: arenaCapacity)
        starts = .allocate(capacity: userCapacity)
        lengths = .allocate(capacity: userCapacity)
    }

    deinit {
        arena.deallocate()
        starts.deallocate()
        lengths.deallocate()
    }

    @inline(__always)
    func id(_ user: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + starts[user], count: Int(lengths[user]))
    }

    /// Asks for where a user's id starts and its length (its entries of `starts` and
    /// `lengths`), then, once those are in, for its bytes: for reading ids in an order
    /// other than their arrival (`prefetchID` a few users after `prefetchStart`).
    @inline(__always)
    func prefetchStart(_ user: Int) {
        fu_prefetch(starts + user)
        fu_prefetch(lengths + user)
    }

    @inline(__always)
    func prefetchID(_ user: Int) { fu_prefetch(arena + starts[user]) }

    /// Whether user's id continues with `bytes` from byte 16 (the part slots do not hold).
    @inline(__always)
    func suffixEquals(_ user: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.count <= 16 || memcmp(arena + starts[user] + 16, bytes.baseAddress! + 16, bytes.count - 16) == 0
    }

    /// Adds an id; returns its user number.
    func append(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        reserveRoom(&arena, capacity: &arenaCapacity, used: arenaCount, needed: arenaCount + bytes.count)
        (arena + arenaCount).update(from: bytes.baseAddress!, count: bytes.count)
        if count == userCapacity {
            var lengthsCapacity = userCapacity
            reserveRoom(&lengths, capacity: &lengthsCapacity, used: count, needed: count + 1)
            reserveRoom(&starts, capacity: &userCapacity, used: count, needed: count + 1)
        }
        starts[count] = arenaCount
        lengths[count] = Int32(bytes.count)
        arenaCount += bytes.count
        count += 1
        return count - 1
    }

    /// User numbers in byte order of their ids, the order of every output. Sorted by each
    /// id's first 8 bytes (a big-endian key, zero-padded), then a comparison sort of each
    /// run of equal keys (`compareIDs`). The keys are split into buckets by their top 16
    /// bits from the first bit in which any two differ, and each bucket is sorted by its
    /// keys' lower bits with the keys beside the users: a pass that read every user's key
    /// through its number made a cache miss a user and a byte, 0.08 s at 550,000 users on
    /// the thread fu-featurize's output then waits for.
    func sortedByID() -> [Int] {
        let n = count
        var keys = [UInt64](repeating: 0, count: n)
        var differ: UInt64 = 0
        for user in 0..<n {
            keys[user] = UserIDs.prefix(id(user)).0.byteSwapped
            differ |= keys[user] ^ keys[0]
        }
        var order = Array(0..<n)
        var sortedKeys = keys
        if differ != 0 {
            let skip = UInt64(differ.leadingZeroBitCount)
            @inline(__always) func digit(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key << skip) >> 48) }
            var bucketStarts = [Int](repeating: 0, count: (1 << 16) + 1)
            for key in keys { bucketStarts[digit(key) + 1] += 1 }
            for d in 0..<(1 << 16) { bucketStarts[d + 1] += bucketStarts[d] }
            var next = bucketStarts
            for user in 0..<n {
                let d = digit(keys[user])
                order[next[d]] = user
                sortedKeys[next[d]] = keys[user]
                next[d] += 1
            }
            keys = []
            // The bits below the digit: none when the digit reaches the last one.
            let lowBits = skip + 16 >= 64 ? 0 : 64 - (skip + 16)
            if lowBits > 0 {
                var largest = 0
                for d in 0..<(1 << 16) { largest = max(largest, bucketStarts[d + 1] - bucketStarts[d]) }
                var scratch = RadixScratch(capacity: largest)
                order.withUnsafeMutableBufferPointer { order in
                    sortedKeys.withUnsafeMutableBufferPointer { keys in
                        for d in 0..<(1 << 16) where bucketStarts[d + 1] - bucketStarts[d] > 1 {
                            scratch.sort(
                                users: order.baseAddress! + bucketStarts[d], keys: keys.baseAddress! + bucketStarts[d],
                                count: bucketStarts[d + 1] - bucketStarts[d], bytes: Int((lowBits + 7) / 8))
                        }
                    }
                }
            }
        }
        // Runs of one key: the rest of the ids decides (shorter first on a tie).
        var start = 0
        while start < n {
            var end = start + 1
            while end < n && sortedKeys[end] == sortedKeys[start] { end += 1 }
            if end - start > 1 { order[start..<end].sort { compareIDs(id($0), id($1)) < 0 } }
            start = end
        }
        return order
    }

    /// The first 16 bytes of an id as two words, zero-padded (what slots hold); from 8
    /// bytes on, loaded as words (overlapping) rather than copied.
    @inline(__always)
    static func prefix(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        let count = bytes.count
        guard count >= 8, let base = bytes.baseAddress.map(UnsafeRawPointer.init) else {
            var word: UInt64 = 0
            for i in (0..<count).reversed() { word = word << 8 | UInt64(bytes[i]) }
            return (word, 0)
        }
        let first = base.loadUnaligned(as: UInt64.self)
        if count >= 16 { return (first, (base + 8).loadUnaligned(as: UInt64.self)) }
        if count == 8 { return (first, 0) }
        // Bytes count-8..<count, shifted down past the ones `first` holds.
        return (first, (base + count - 8).loadUnaligned(as: UInt64.self) >> UInt64(8 * (16 - count)))
    }
}

/// UserId bytes → dense user number. Open addressing over the (already computed) stable
/// hash; each 32-byte slot holds the hash, the user number, the id's length and its first
/// 16 bytes, so a lookup of a typical id touches one cache line and never the arena.
final class UserIndex {
    let ids: UserIDs
    /// Four words a slot: hash, (user + 1) | length << 32, then 16 id bytes zero-padded.
    private var slots: UnsafeMutablePointer<UInt64>
    private var slotMask: Int

    var count: Int { ids.count }

    /// `initialSlots` is a power of two; the table doubles as users arrive. Users already in
    /// `ids` are indexed under their numbers with `hash`, the caller's (another index hands over).
    init(initialSlots: Int = 1 << 12, ids: UserIDs = UserIDs(), hash: (UnsafeBufferPointer<UInt8>) -> UInt64 = stableHash) {
        self.ids = ids
        var size = initialSlots
        while ids.count * 4 > (size - 1) * 3 { size *= 2 }
        slotMask = size - 1
        slots = allocateCacheAligned(4 * size)  // a 32-byte slot in one line
        slots.initialize(repeating: 0, count: 4 * size)
        for user in 0..<ids.count {
            let bytes = ids.id(user)
            place(user, bytes, hash: hash(bytes))
        }
    }

    deinit {
        slots.deallocate()
    }

    func id(_ user: Int) -> UnsafeBufferPointer<UInt8> { ids.id(user) }

    func sortedByID() -> [Int] { ids.sortedByID() }

    /// Loads the slot a hash starts probing at, so that a batch of lookups can have their
    /// cache misses in flight together (see `Featurizer`). Returns a word to keep it alive.
    @inline(__always)
    func touch(hash: UInt64) -> UInt64 {
        slots[4 * (Int(truncatingIfNeeded: hash) & slotMask)]
    }

    /// The user's number, adding the user when new.
    @inline(__always)
    func findOrInsert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int {
        let (first, second) = UserIDs.prefix(bytes)
        let length = UInt64(bytes.count)
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let entry = slots + 4 * slot
            let userAndLength = entry[1]
            if userAndLength == 0 { break }
            if entry[0] == hash && userAndLength >> 32 == length && entry[2] == first && entry[3] == second {
                let user = Int(userAndLength & 0xFFFF_FFFF) - 1
                if ids.suffixEquals(user, bytes) { return user }
            }
            slot = (slot + 1) & slotMask
        }
        let user = ids.append(bytes)
        fill(slot, user, bytes, hash: hash)
        if count * 4 > slotMask * 3 { rehash() }
        return user
    }

    private func fill(_ slot: Int, _ user: Int, _ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) {
        let (first, second) = UserIDs.prefix(bytes)
        let entry = slots + 4 * slot
        entry[0] = hash
        entry[1] = UInt64(user + 1) | UInt64(bytes.count) << 32
        entry[2] = first
        entry[3] = second
    }

    /// Puts a user known to be absent into its first free slot.
    private func place(_ user: Int, _ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while slots[4 * slot + 1] != 0 { slot = (slot + 1) & slotMask }
        fill(slot, user, bytes, hash: hash)
    }

    private func rehash() {
        let old = slots
        let oldCount = slotMask + 1
        slotMask = oldCount * 2 - 1
        slots = allocateCacheAligned(4 * (slotMask + 1))
        slots.initialize(repeating: 0, count: 4 * (slotMask + 1))
        for index in 0..<oldCount where old[4 * index + 1] != 0 {
            var slot = Int(truncatingIfNeeded: old[4 * index]) & slotMask
            while slots[4 * slot + 1] != 0 { slot = (slot + 1) & slotMask }
            (slots + 4 * slot).update(from: old + 4 * index, count: 4)
        }
        old.deallocate()
    }
}

/// Sorts users beside their keys by the keys' low bytes (`UserIDs.sortedByID`'s buckets,
/// whose higher bits are equal): by insertion when few, else least significant byte
/// first, a pass for each byte in which the keys differ, through scratch arrays reused
/// from bucket to bucket.
struct RadixScratch {
    private var users: [Int]
    private var keys: [UInt64]
    private var counts = [Int](repeating: 0, count: 8 * 256)

    init(capacity: Int) {
        users = [Int](repeating: 0, count: capacity)
        keys = [UInt64](repeating: 0, count: capacity)
    }

    mutating func sort(users: UnsafeMutablePointer<Int>, keys: UnsafeMutablePointer<UInt64>, count: Int, bytes: Int) {
        if count <= 32 {
            for i in 1..<count {
                let (user, key) = (users[i], keys[i])
                var j = i
                while j > 0 && keys[j - 1] > key {
                    (users[j], keys[j]) = (users[j - 1], keys[j - 1])
                    j -= 1
                }
                (users[j], keys[j]) = (user, key)
            }
            return
        }
        self.users.withUnsafeMutableBufferPointer { otherUsers in
            self.keys.withUnsafeMutableBufferPointer { otherKeys in
                counts.withUnsafeMutableBufferPointer { counts in
                    counts.update(repeating: 0)
                    for i in 0..<count {
                        for byte in 0..<bytes { counts[byte << 8 | Int(truncatingIfNeeded: keys[i] >> UInt64(8 * byte)) & 0xFF] += 1 }
                    }
                    var (fromUsers, fromKeys) = (users, keys)
                    var (toUsers, toKeys) = (otherUsers.baseAddress!, otherKeys.baseAddress!)
                    for byte in 0..<bytes {
                        let digits = counts.baseAddress! + (byte << 8)
                        // A byte the same in every key moves nothing.
                        if (0..<256).contains(where: { digits[$0] == count }) { continue }
                        var next = 0
                        for digit in 0..<256 { (digits[digit], next) = (next, next + digits[digit]) }
                        for i in 0..<count {
                            let digit = Int(truncatingIfNeeded: fromKeys[i] >> UInt64(8 * byte)) & 0xFF
                            toUsers[digits[digit]] = fromUsers[i]
                            toKeys[digits[digit]] = fromKeys[i]
                            digits[digit] += 1
                        }
                        swap(&fromUsers, &toUsers)
                        swap(&fromKeys, &toKeys)
                    }
                    if fromUsers != users {
                        users.update(from: fromUsers, count: count)
                        keys.update(from: fromKeys, count: count)
                    }
                }
            }
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
