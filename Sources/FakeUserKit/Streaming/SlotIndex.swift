#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// UserId bytes → a stream scorer's slot, with removal for eviction. Like `UserIndex`, open
/// addressing over `SlotIndex.hash`, so a lookup allocates nothing; unlike it, a user can be
/// removed and its slot given to another. An entry is one word, the hash's high half beside
/// slot + 1 (memory a user counts): those bits pick the home position too, and removal can
/// shift the entries after it back (no tombstones, so a
/// long stream of new users never slows lookups down). An id of up to 16 bytes is kept in
/// its slot's record, a longer one in a byte arena: a lookup of a typical id touches the
/// table and one record. Every `hash` is `SlotIndex.hash` of the id's bytes (removal computes
/// it again).
final class SlotIndex {
    /// The index's hash of an id: fu-featurize's, words at a time (FNV-1a's byte loop was
    /// 4% of fu-watch's time). Kept in no file: a loaded state is indexed again.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 { indexHash(bytes) }

    private var table: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private(set) var count = 0

    /// A slot's id: `length` bytes, the first 16 in `head` (zero-padded, in memory order, as
    /// `UserIDs.prefix` loads them: `id` reads them back as bytes); a longer id is
    /// whole at `start` in the arena, in a region of `room` bytes that the slot's next user
    /// reuses when its id fits (ids are mostly of one length).
    private struct Region {
        var head: (UInt64, UInt64) = (0, 0)
        var start = 0
        var length: Int32 = 0
        var room: Int32 = 0
    }
    /// Not an Array: `id` points into a record.
    private var regions: SlotRecords<Region>
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity = 1 << 16
    private var arenaCount = 0
    /// Bytes of regions no slot holds any more; the arena is compacted past half of it.
    private var garbage = 0

    /// `reservedSlots`: the id records' first capacity (see `StreamScorer.reservedSlots`).
    init(initialEntries: Int = 1 << 12, reservedSlots: Int = 1024) {
        regions = SlotRecords(capacity: reservedSlots)
        mask = initialEntries - 1
        table = .allocate(capacity: mask + 1)
        table.initialize(repeating: 0, count: mask + 1)
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        table.deallocate()
        arena.deallocate()
        regions.deallocate()
    }

    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt64 { hash >> 32 }

    @inline(__always)
    private func home(_ tag: UInt64) -> Int { Int(truncatingIfNeeded: tag) & mask }

    /// The slot's id, valid until the next `insert`.
    func id(_ slot: Int) -> UnsafeBufferPointer<UInt8> {
        let region = regions.pointer(slot)
        let length = Int(region.pointee.length)
        if length > 16 { return UnsafeBufferPointer(start: arena + region.pointee.start, count: length) }
        let head = UnsafeRawPointer(region) + MemoryLayout<Region>.offset(of: \.head)!
        return UnsafeBufferPointer(start: head.assumingMemoryBound(to: UInt8.self), count: length)
    }

    @inline(__always)
    private func holds(_ slot: Int, _ bytes: UnsafeBufferPointer<UInt8>, head: (UInt64, UInt64)) -> Bool {
        let region = regions.pointer(slot)
        guard Int(region.pointee.length) == bytes.count, region.pointee.head == head else { return false }
        return bytes.count <= 16 || memcmp(arena + region.pointee.start + 16, bytes.baseAddress! + 16, bytes.count - 16) == 0
    }

    /// The table position of the id's entry, or of the empty entry where it would go.
    @inline(__always)
    private func position(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> (Int, found: Bool) {
        let tag = SlotIndex.tag(hash)
        let head = UserIDs.prefix(bytes)
        var i = home(tag)
        while true {
            let entry = table[i]
            if entry == 0 { return (i, false) }
            if entry >> 32 == tag && holds(Int(entry & 0xFFFF_FFFF) - 1, bytes, head: head) { return (i, true) }
            i = (i + 1) & mask
        }
    }

    /// Loads the entry an id's lookup starts at (a hint: see `StreamScorer.run`); returns a
    /// word so that the load is kept.
    @inline(__always)
    func touch(hash: UInt64) -> UInt64 { table[home(SlotIndex.tag(hash))] }

    /// The slot the id probably has (the first entry of its probe with its tag, among the
    /// first few; not checked against the id), to load the slot's records ahead of `find`;
    /// nil when none.
    @inline(__always)
    func likelySlot(hash: UInt64) -> Int? {
        let tag = SlotIndex.tag(hash)
        var i = home(tag)
        for _ in 0..<8 {
            let entry = table[i]
            if entry == 0 { return nil }
            if entry >> 32 == tag { return Int(entry & 0xFFFF_FFFF) - 1 }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Loads the first word of a slot's id record (a hint, as `touch`).
    @inline(__always)
    func touchRecord(_ slot: Int) -> UInt64 { regions.pointer(slot).pointee.head.0 }

    /// The slot of the id, or nil.
    @inline(__always)
    func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        let (i, found) = position(bytes, hash: hash)
        return found ? Int(table[i] & 0xFFFF_FFFF) - 1 : nil
    }

    /// Gives `slot` (free: new, or removed) to an id not in the index.
    func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, slot: Int) {
        precondition(slot < 0xFFFF_FFFF && slot <= regions.count, "too many users for a stream scorer, or a slot out of turn")
        store(bytes, slot: slot)
        let (i, found) = position(bytes, hash: hash)
        precondition(!found, "an id given a second slot")
        table[i] = SlotIndex.tag(hash) << 32 | UInt64(slot + 1)
        count += 1
        if count * 4 > (mask + 1) * 3 { grow() }
    }

    /// Forgets the slot's id; the slot may then be given to another.
    func remove(slot: Int) {
        let bytes = id(slot)
        var (i, found) = position(bytes, hash: SlotIndex.hash(bytes))
        precondition(found, "removing a slot not in the index")
        count -= 1
        // Backward shift: an entry after the hole moves into it unless its home lies
        // cyclically in (hole, entry], where a lookup would no longer reach it.
        var j = i
        while true {
            table[i] = 0
            while true {
                j = (j + 1) & mask
                let entry = table[j]
                if entry == 0 { return }
                let h = home(entry >> 32)
                let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
                if !stays {
                    table[i] = entry
                    i = j
                    break
                }
            }
        }
    }

    private func store(_ bytes: UnsafeBufferPointer<UInt8>, slot: Int) {
        if slot == regions.count { regions.append(Region()) }
        let region = regions.pointer(slot)
        region.pointee.head = UserIDs.prefix(bytes)
        region.pointee.length = Int32(bytes.count)
        guard bytes.count > 16 else { return }
        if bytes.count > Int(region.pointee.room) {
            garbage += Int(region.pointee.room)
            region.pointee.room = 0
            reserve(bytes.count)
            region.pointee.start = arenaCount
            region.pointee.room = Int32(bytes.count)
            arenaCount += bytes.count
        }
        (arena + region.pointee.start).update(from: bytes.baseAddress!, count: bytes.count)
    }

    /// Room for `extra` more bytes at the arena's end, compacting it when half is garbage.
    private func reserve(_ extra: Int) {
        guard arenaCount + extra > arenaCapacity else { return }
        let live = arenaCount - garbage
        let capacity = max(arenaCapacity * (live * 2 < arenaCount ? 1 : 2), live + extra)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        var end = 0
        for slot in 0..<regions.count where regions[slot].room > 0 {
            (bigger + end).update(from: arena + regions[slot].start, count: Int(regions[slot].room))
            regions[slot].start = end
            end += Int(regions[slot].room)
        }
        arena.deallocate()
        arena = bigger
        arenaCapacity = capacity
        arenaCount = end
        garbage = 0
    }

    private func grow() {
        let old = table, oldCount = mask + 1
        mask = oldCount * 2 - 1
        table = .allocate(capacity: mask + 1)
        table.initialize(repeating: 0, count: mask + 1)
        for index in 0..<oldCount where old[index] != 0 {
            var i = home(old[index] >> 32)
            while table[i] != 0 { i = (i + 1) & mask }
            table[i] = old[index]
        }
        old.deallocate()
    }
}
