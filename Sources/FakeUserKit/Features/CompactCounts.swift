import CIntrinsics

/// Users and their counters in one table: each 64-byte slot holds a user's id (its first 16
/// bytes; the rest is checked in `UserIDs`) beside 16-bit counts per event type and per
/// category and the pair bits. Counting an event then touches one cache line and one page
/// at a random place, where `UserIndex` + `EventCounts` touch two of each: in tables of tens
/// of megabytes each of those is a cache and a TLB miss, and they were most of
/// fu-featurize's counting time.
///
/// It holds 8 event types and 6 categories (`EventCounts`' first category capacity, so pair
/// bits are numbered alike) and counts up to 65,535; `add` refuses an event past them
/// (leaving the table as it was), and the caller hands the users over to the general form
/// (`handOver`).
final class CompactCounts {
    let ids = UserIDs()
    /// Eight words a slot: tag | (user + 1) << 32 (0: empty), two words of id prefix,
    /// pair bits | id length << 48, then 8 + 6 counters of 16 bits.
    private var slots: UnsafeMutablePointer<UInt64>
    private var slotMask: Int
    /// A slot's index is the tag's top bits: the tag alone places a user again on rehash.
    private var shift: UInt64

    static let events = 8
    static let categories = EventCounts.initialCategoryCapacity
    private static let pairMask: UInt64 = (1 << 48) - 1

    init(initialSlots: Int = 1 << 12) {
        slotMask = initialSlots - 1
        shift = UInt64(32 - initialSlots.trailingZeroBitCount)
        slots = CompactCounts.allocate(initialSlots)
    }

    deinit { slots.deallocate() }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<UInt64> {
        let slots = allocateCacheAligned(8 * count, of: UInt64.self)
        slots.initialize(repeating: 0, count: 8 * count)
        return slots
    }

    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt64 { hash >> 32 }

    /// Asks for the slot a hash starts probing at, ahead of `add` (see `Featurizer`).
    @inline(__always)
    func prefetch(hash: UInt64) {
        fu_prefetch_for_write(slots + 8 * Int(truncatingIfNeeded: CompactCounts.tag(hash) >> shift))
    }

    /// Counts one event of the user with id `bytes`, adding the user when new; returns the
    /// user's number, or nil (changing nothing) when the event is past this table's limits.
    @inline(__always)
    func add(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, event: Int, category: Int) -> Int? {
        guard event < CompactCounts.events, category < CompactCounts.categories, bytes.count < 0xFFFF else { return nil }
        let tag = CompactCounts.tag(hash)
        let (first, second) = UserIDs.prefix(bytes)
        let length = UInt64(bytes.count)
        var slot = Int(truncatingIfNeeded: tag >> shift)
        while true {
            let entry = slots + 8 * slot
            let head = entry[0]
            if head == 0 { break }
            if head & 0xFFFF_FFFF == tag && entry[3] >> 48 == length && entry[1] == first && entry[2] == second {
                let user = Int(head >> 32) - 1
                if ids.suffixEquals(user, bytes) { return CompactCounts.count(entry, event, category) ? user : nil }
            }
            slot = (slot + 1) & slotMask
        }
        guard ids.count < Int(UInt32.max) - 1 else { return nil }
        let user = ids.append(bytes)
        let entry = slots + 8 * slot
        entry[0] = tag | UInt64(user + 1) << 32
        entry[1] = first
        entry[2] = second
        entry[3] = length << 48
        _ = CompactCounts.count(entry, event, category)
        if ids.count * 4 > slotMask * 3 { rehash() }
        return user
    }

    /// Adds the event to a slot's counters; false (adding nothing) when a count is full.
    @inline(__always)
    private static func count(_ entry: UnsafeMutablePointer<UInt64>, _ event: Int, _ category: Int) -> Bool {
        let counters = UnsafeMutableRawPointer(entry + 4)
        let events = counters.load(fromByteOffset: 2 * event, as: UInt16.self)
        let categories = counters.load(fromByteOffset: 2 * (CompactCounts.events + category), as: UInt16.self)
        if events == .max || categories == .max { return false }
        counters.storeBytes(of: events + 1, toByteOffset: 2 * event, as: UInt16.self)
        counters.storeBytes(of: categories + 1, toByteOffset: 2 * (CompactCounts.events + category), as: UInt16.self)
        entry[3] |= 1 << UInt64(event * CompactCounts.categories + category)
        return true
    }

    private func rehash() {
        let old = slots
        let oldCount = slotMask + 1
        slotMask = oldCount * 2 - 1
        shift -= 1
        slots = CompactCounts.allocate(oldCount * 2)
        for index in 0..<oldCount where old[8 * index] != 0 {
            var slot = Int(truncatingIfNeeded: (old[8 * index] & 0xFFFF_FFFF) >> shift)
            while slots[8 * slot] != 0 { slot = (slot + 1) & slotMask }
            (slots + 8 * slot).update(from: old + 8 * index, count: 8)
        }
        old.deallocate()
    }

    /// The users' counters in their general form, numbered as here.
    func eventCounts(limit: Int = .max) -> EventCounts {
        let counts = EventCounts(users: max(ids.count, 1), limit: limit)
        for _ in 0..<ids.count { counts.addUser() }
        for slot in 0...slotMask where slots[8 * slot] != 0 {
            let entry = slots + 8 * slot
            counts.set(
                user: Int(entry[0] >> 32) - 1, counters: UnsafeRawPointer(entry + 4), types: CompactCounts.events,
                pairs: entry[3] & CompactCounts.pairMask)
        }
        return counts
    }

    /// The same users and counts as a `UserIndex` (indexed with `hash`) and `EventCounts`,
    /// which have no limits.
    func handOver(hash: (UnsafeBufferPointer<UInt8>) -> UInt64) -> (users: UserIndex, counts: EventCounts) {
        (UserIndex(ids: ids, hash: hash), eventCounts())
    }
}
