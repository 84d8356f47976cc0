import CIntrinsics

/// Users and their counters in one table: each 64-byte slot holds a user's id (its first 16
/// bytes; the rest is checked in `UserIDs`) beside 16-bit counts per event type and per
/// category and the pair bits. Counting an event then touches one cache line and one page
/// at a random place, where `UserIndex` + `EventCounts` touch two of each: in tables of tens
/// of megabytes each of those is a cache and a TLB miss, and they were most of
/// fu-featurize's counting time.
///
/// The table is made of `parts` tables, each growing on its own, and a user's part is its
/// hash's top bits: events counted a part at a time (`EventsByPart`) touch a few hundred
/// kilobytes, not the whole table. (In one table, users arriving in hash order would crowd
/// its first slots until it grew.)
///
/// It holds 8 event types and 6 categories (`EventCounts`' first category capacity, so pair
/// bits are numbered alike) and counts up to 65,535; `add` refuses an event past them
/// (leaving the table as it was), and the caller hands the users over to the general form
/// (`handOver`).
final class CompactCounts {
    let ids = UserIDs()

    /// One part's slots. Eight words a slot: tag | (user + 1) << 32 (0: empty), two words of
    /// id prefix, pair bits | id length << 48, then 8 + 6 counters of 16 bits and, in byte
    /// 60, the user's first Fake (so a label check reads no other line).
    private struct Part {
        var slots: UnsafeMutablePointer<UInt64>
        /// A power of two or three times one: growing by 3/2 and 4/3 in turn keeps a part
        /// between 1/2 (or 9/16) and 3/4 full, where doubling went down to 3/8 (the 550,000
        /// users of the benchmark were at 0.52 in 64 MB; now 0.70 in 48 MB).
        var slotCount: Int
        var users = 0

        init(slots count: Int) {
            slotCount = count
            slots = Part.allocate(count)
        }

        static func allocate(_ count: Int) -> UnsafeMutablePointer<UInt64> {
            let slots = allocateCacheAligned(8 * count, of: UInt64.self)
            slots.initialize(repeating: 0, count: 8 * count)
            return slots
        }

        /// A user's first slot: the tag's bits past the part's, scaled to the slot count
        /// (the tag alone places a user again when the part grows).
        @inline(__always)
        func home(_ tag: UInt64) -> Int {
            Int(truncatingIfNeeded: (((tag << UInt64(CompactCounts.partBits)) & 0xFFFF_FFFF) &* UInt64(slotCount)) >> 32)
        }

        @inline(__always)
        func after(_ slot: Int) -> Int { slot + 1 == slotCount ? 0 : slot + 1 }

        var isFull: Bool { users * 4 > slotCount * 3 }

        mutating func grow() {
            let old = slots
            let oldCount = slotCount
            slotCount = oldCount.nonzeroBitCount == 1 ? oldCount / 2 * 3 : oldCount / 3 * 4
            slots = Part.allocate(slotCount)
            for index in 0..<oldCount where old[8 * index] != 0 {
                var slot = home(old[8 * index] & 0xFFFF_FFFF)
                while slots[8 * slot] != 0 { slot = after(slot) }
                (slots + 8 * slot).update(from: old + 8 * index, count: 8)
            }
            old.deallocate()
        }
    }

    static let partBits = 7
    static let parts = 1 << partBits
    private let parts: UnsafeMutablePointer<Part>

    static let events = 8
    static let categories = EventCounts.initialCategoryCapacity
    /// Past the id and the pair bits.
    static let countersOffset = 32
    /// Past the counters.
    private static let labelOffset = countersOffset + 2 * (events + categories)
    static let pairMask: UInt64 = (1 << 48) - 1

    /// Each user's slot by user number (`indexSlots`), for reading the counts in place
    /// once counting is done.
    private(set) var userSlots: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>?

    init(initialSlots: Int = 1 << 12) {
        precondition(CompactCounts.labelOffset < 64, "a slot's counters and first Fake fit its 64 bytes")
        parts = .allocate(capacity: CompactCounts.parts)
        for part in 0..<CompactCounts.parts {
            (parts + part).initialize(to: Part(slots: max(initialSlots >> CompactCounts.partBits, 8)))
        }
    }

    deinit {
        for part in 0..<CompactCounts.parts { parts[part].slots.deallocate() }
        parts.deallocate()
        userSlots?.deallocate()
    }

    /// The part a hash's user is in.
    @inline(__always)
    static func part(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> UInt64(64 - partBits)) }

    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt64 { hash >> 32 }

    /// Asks for the slot a hash starts probing at, ahead of `add` (see `Featurizer`).
    @inline(__always)
    func prefetch(hash: UInt64) {
        let part = parts + CompactCounts.part(hash)
        let home = part.pointee.slots + 8 * part.pointee.home(CompactCounts.tag(hash))
        fu_prefetch_for_write(home)
        // A lookup at 0.70 full often goes on to the next slot. (Past the last slot this
        // asks for a line outside the part: a prefetch never faults.)
        fu_prefetch_for_write(home + 8)
    }

    @inline(__always)
    func slotCount(part: Int) -> Int { parts[part].slotCount }

    /// Asks for the `index`th of `of` equal shares of a part's slots: spread over the events
    /// counted in the part before it, the whole part is in the cache when its turn comes.
    @inline(__always)
    func prefetchShare(part: Int, _ index: Int, of shares: Int) {
        let slots = parts[part].slots
        let lines = parts[part].slotCount
        var line = index * lines / shares
        let end = (index + 1) * lines / shares
        while line < end {
            fu_prefetch_for_write(slots + 8 * line)
            line += 1
        }
    }

    /// Counts one event of the user whose id has this prefix (`UserIDs.prefix`) and length,
    /// adding the user when new with `label` as its first Fake; returns the user's number
    /// and first Fake, or nil (changing nothing) when the event is past this table's
    /// limits. The id's bytes are read only for a new user or an id longer than a slot's
    /// 16 bytes.
    @inline(__always)
    func add(
        hash: UInt64, prefix: (UInt64, UInt64), length: Int, id: @autoclosure () -> UnsafeBufferPointer<UInt8>,
        event: Int, category: Int, label: Int8
    ) -> (user: Int, firstLabel: Int8)? {
        guard event < CompactCounts.events, category < CompactCounts.categories, length < 0xFFFF else { return nil }
        let part = parts + CompactCounts.part(hash)
        let slots = part.pointee.slots
        let tag = CompactCounts.tag(hash)
        let (first, second) = prefix
        let length = UInt64(length)
        var slot = part.pointee.home(tag)
        while true {
            let entry = slots + 8 * slot
            let head = entry[0]
            if head == 0 { break }
            if head & 0xFFFF_FFFF == tag && entry[3] >> 48 == length && entry[1] == first && entry[2] == second {
                let user = Int(head >> 32) - 1
                if length <= 16 || ids.suffixEquals(user, id()) {
                    guard CompactCounts.count(entry, event, category) else { return nil }
                    return (user, UnsafeRawPointer(entry).load(fromByteOffset: CompactCounts.labelOffset, as: Int8.self))
                }
            }
            slot = part.pointee.after(slot)
        }
        guard ids.count < Int(UInt32.max) - 1 else { return nil }
        let user = ids.append(id())
        let entry = slots + 8 * slot
        entry[0] = tag | UInt64(user + 1) << 32
        entry[1] = first
        entry[2] = second
        entry[3] = length << 48
        UnsafeMutableRawPointer(entry).storeBytes(of: label, toByteOffset: CompactCounts.labelOffset, as: Int8.self)
        _ = CompactCounts.count(entry, event, category)
        part.pointee.users += 1
        if part.pointee.isFull { part.pointee.grow() }
        return (user, label)
    }

    /// Adds the event to a slot's counters; false (adding nothing) when a count is full.
    @inline(__always)
    private static func count(_ entry: UnsafeMutablePointer<UInt64>, _ event: Int, _ category: Int) -> Bool {
        let counters = UnsafeMutableRawPointer(entry) + CompactCounts.countersOffset
        let events = counters.load(fromByteOffset: 2 * event, as: UInt16.self)
        let categories = counters.load(fromByteOffset: 2 * (CompactCounts.events + category), as: UInt16.self)
        if events == .max || categories == .max { return false }
        counters.storeBytes(of: events + 1, toByteOffset: 2 * event, as: UInt16.self)
        counters.storeBytes(of: categories + 1, toByteOffset: 2 * (CompactCounts.events + category), as: UInt16.self)
        entry[3] |= 1 << UInt64(event * CompactCounts.categories + category)
        return true
    }

    /// Calls `body` with every user's number and slot.
    private func forEachSlot(_ body: (_ user: Int, _ entry: UnsafeMutablePointer<UInt64>) -> Void) {
        for part in 0..<CompactCounts.parts {
            let slots = parts[part].slots
            for slot in 0..<parts[part].slotCount where slots[8 * slot] != 0 {
                body(Int(slots[8 * slot] >> 32) - 1, slots + 8 * slot)
            }
        }
    }

    /// Finds every user's slot, for `counts(of:)`; no user may be added after.
    func indexSlots() {
        precondition(userSlots == nil, "the slots are indexed once")
        let index = UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>.allocate(capacity: max(ids.count, 1))
        forEachSlot { user, entry in index[user] = entry }
        userSlots = index
    }

    /// The same users and counts as a `UserIndex` (indexed with `hash`) and `EventCounts`,
    /// which have no limits.
    func handOver(hash: (UnsafeBufferPointer<UInt8>) -> UInt64) -> (users: UserIndex, counts: EventCounts) {
        let counts = EventCounts(users: max(ids.count, 1))
        for _ in 0..<ids.count { counts.addUser() }
        forEachSlot { user, entry in
            counts.set(
                user: user, counters: UnsafeRawPointer(entry) + CompactCounts.countersOffset, types: CompactCounts.events,
                pairs: entry[3] & CompactCounts.pairMask)
        }
        return (UserIndex(ids: ids, hash: hash), counts)
    }
}
