import CIntrinsics

/// Events held back and grouped by the part of `CompactCounts` their user is in, then
/// counted one part after another. Counted in arrival order, every event touches a random
/// line of a table of tens of megabytes: a cache miss and, in a virtual machine, a TLB miss
/// with a two-level page walk, which were most of fu-featurize's counting time. A part is
/// a few hundred kilobytes: its pages stay in the TLB and its lines, once loaded, in the
/// cache.
///
/// One user's events all fall in one part and keep their order, so the first label a user
/// is seen with is the same as in arrival order; only which of several conflicts is found
/// first differs, and the caller reports the earliest line.
final class EventsByPart {
    /// Events a part holds (half a million events in all): more make fewer cache misses
    /// (a user's events in one group find its slot loaded) and take more memory.
    static let defaultPartCapacity = 4096
    /// Even: a part's records start on a cache line.
    let partCapacity: Int

    /// Four words an event, part after part: hash, the id's first 16 bytes (as
    /// `UserIDs.prefix`), then length | event << 16 | category << 24 | (label + 1) << 32 |
    /// arrival << 40, where a length of 0xFFFF stands for that or more (the real one is
    /// then taken from `idStarts`).
    private let records: UnsafeMutablePointer<UInt64>
    /// A part's next two records, written to `records` as one line past the caches
    /// (`fu_stream_line`): 128 parts' lines do not stay in the caches between writes.
    private let staging: UnsafeMutablePointer<UInt64>
    private let filled: UnsafeMutablePointer<Int>
    /// By arrival: each event's line (past the first event's), and where its id starts in
    /// `arena`, which holds only the ids longer than 16 bytes (a record holds the others).
    private let lines: UnsafeMutablePointer<UInt32>
    private var firstLine = 0
    private let idStarts: UnsafeMutablePointer<Int>
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity = 1 << 12
    /// A short id rebuilt from its record, for `id(_:)`.
    private let scratch = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 8)
    private let scratchBytes: UnsafePointer<UInt8>
    private(set) var count = 0

    init(partCapacity: Int = EventsByPart.defaultPartCapacity) {
        // An event's arrival number has 24 bits in its record.
        precondition(partCapacity <= (1 << 24) / CompactCounts.parts, "parts of at most 131,072 events")
        self.partCapacity = max(2, partCapacity & ~1)
        let capacity = CompactCounts.parts * self.partCapacity
        records = allocateCacheAligned(4 * capacity, of: UInt64.self)
        staging = allocateCacheAligned(8 * CompactCounts.parts, of: UInt64.self)
        filled = .allocate(capacity: CompactCounts.parts)
        filled.initialize(repeating: 0, count: CompactCounts.parts)
        lines = .allocate(capacity: capacity)
        idStarts = .allocate(capacity: capacity + 1)
        idStarts[0] = 0
        arena = .allocate(capacity: arenaCapacity)
        scratchBytes = UnsafePointer(scratch.bindMemory(to: UInt8.self, capacity: 16))
    }

    deinit {
        records.deallocate()
        staging.deallocate()
        filled.deallocate()
        lines.deallocate()
        idStarts.deallocate()
        arena.deallocate()
        scratch.deallocate()
    }

    /// Holds an event of the user with `hash` (`indexHash`); false (holding nothing) when
    /// its part is full: count these, then hold it in another.
    @inline(__always)
    func hold(_ id: UnsafeBufferPointer<UInt8>, hash: UInt64, event: Int, category: Int, label: Int8, line: Int) -> Bool {
        let part = CompactCounts.part(hash)
        let place = filled[part]
        if count == 0 { firstLine = line }
        guard place < partCapacity, line - firstLine <= Int(UInt32.max) else { return false }
        filled[part] = place + 1
        var start = idStarts[count]
        if id.count > 16 {
            reserveRoom(&arena, capacity: &arenaCapacity, used: start, needed: start + id.count)
            (arena + start).update(from: id.baseAddress!, count: id.count)
            start += id.count
        }
        idStarts[count + 1] = start
        lines[count] = UInt32(line - firstLine)
        let (first, second) = UserIDs.prefix(id)
        let record = staging + 8 * part + 4 * (place & 1)
        record[0] = hash
        record[1] = first
        record[2] = second
        record[3] = UInt64(min(id.count, 0xFFFF)) | UInt64(event) << 16 | UInt64(category) << 24
            | UInt64(UInt8(label + 1)) << 32 | UInt64(count) << 40
        if place & 1 == 1 { fu_stream_line(records + 4 * (part * partCapacity + place - 1), staging + 8 * part) }
        count += 1
        return true
    }

    /// Writes the records still staged: call before reading them.
    func seal() {
        for part in 0..<CompactCounts.parts where filled[part] & 1 == 1 {
            (records + 4 * (part * partCapacity + filled[part] - 1)).update(from: staging + 8 * part, count: 4)
        }
        fu_store_fence()
    }

    /// An event as held: `arrival` numbers events from 0 in the order they were held.
    struct Held {
        let hash: UInt64
        let prefix: (UInt64, UInt64)
        let length: Int
        let event: Int
        let category: Int
        let label: Int8
        let arrival: Int
    }

    /// Where a part's events are (in arrival order).
    @inline(__always)
    func events(part: Int) -> Range<Int> {
        part * partCapacity..<part * partCapacity + filled[part]
    }

    @inline(__always)
    func held(_ index: Int) -> Held {
        let record = records + 4 * index
        let meta = record[3]
        let arrival = Int(truncatingIfNeeded: meta >> 40)
        let short = Int(truncatingIfNeeded: meta & 0xFFFF)
        return Held(
            hash: record[0], prefix: (record[1], record[2]),
            length: short < 0xFFFF ? short : idStarts[arrival + 1] - idStarts[arrival],
            event: Int(truncatingIfNeeded: (meta >> 16) & 0xFF), category: Int(truncatingIfNeeded: (meta >> 24) & 0xFF),
            label: Int8(Int(truncatingIfNeeded: (meta >> 32) & 0xFF) - 1), arrival: arrival)
    }

    /// The hash of the event at `index`, for a prefetch of its slot.
    @inline(__always)
    func hash(_ index: Int) -> UInt64 { records[4 * index] }

    /// The id of the event at `index`, valid until the next call.
    @inline(__always)
    func id(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        let event = held(index)
        if event.length > 16 {
            return UnsafeBufferPointer(start: arena + idStarts[event.arrival], count: event.length)
        }
        // `UserIDs.prefix` keeps the bytes in memory order, zero-padded (on the
        // little-endian CPUs fu builds for: x86-64 and arm64).
        scratch.storeBytes(of: event.prefix.0, as: UInt64.self)
        scratch.storeBytes(of: event.prefix.1, toByteOffset: 8, as: UInt64.self)
        return UnsafeBufferPointer(start: scratchBytes, count: event.length)
    }

    @inline(__always)
    func line(arrival: Int) -> Int { firstLine + Int(lines[arrival]) }

    func removeAll() {
        count = 0
        filled.update(repeating: 0, count: CompactCounts.parts)
    }
}
