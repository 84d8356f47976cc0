import CIntrinsics
/// Per-user counters in one flat block: for each user, a count per event type, a count per
/// category, and a bit per event×category pair. The block is re-laid out (rarely) when a
/// new type or category exceeds the current capacity, or a count passes what its counters
/// hold, so memory is a few dozen bytes per user whatever the number of events.
///
/// Counts are 16-bit until one passes 65,535; then every user's become 32-bit (one
/// re-layout). While they are 16-bit, a user with up to 6 types and 6 categories takes 32
/// bytes, not 64 (64 once widened): a stream scorer keeps a record per user for millions
/// of users, and the counters were half of it. Counters with a byte budget (a server's
/// request) are 32-bit from the start, so a budget never meets a widening mid-request.
final class EventCounts {
    private(set) var eventCapacity = EventCounts.initialEventCapacity
    private(set) var categoryCapacity = EventCounts.initialCategoryCapacity
    /// 2, or 4 once a count has passed 65,535.
    private(set) var counterBytes = 2
    /// Bytes a user: a power of two up to 64, then whole cache lines, so that with the block
    /// aligned to a line a user's counters never straddle two lines.
    private var stride: Int
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var users = 0
    /// Bytes the counters may take, the old and the new block together while they are
    /// re-laid out (a server's per-request budget). Past it nothing is allocated:
    /// `addUser` adds no user, `add` drops the count, and `overLimit` is set.
    let limit: Int
    private(set) var overLimit = false

    init(users initialUsers: Int = 1024, limit: Int = .max) {
        self.limit = limit
        if limit != .max { counterBytes = 4 }
        stride = EventCounts.stride(events: eventCapacity, categories: categoryCapacity, counterBytes: counterBytes)
        capacity = max(initialUsers, 1)
        storage = EventCounts.allocate(capacity * stride)
    }

    deinit { storage.deallocate() }

    private static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(allocateCacheAligned(bytes, of: UInt8.self))
    }

    /// The counts, then the pair bits as 32-bit words from byte `(events + categories) ×
    /// counterBytes` (a multiple of 4: capacities are even).
    private static func stride(events: Int, categories: Int, counterBytes: Int) -> Int {
        let bytes = (events + categories) * counterBytes + 4 * pairWords(events: events, categories: categories)
        if bytes > 64 { return (bytes + 63) / 64 * 64 }
        var stride = 16
        while stride < bytes { stride *= 2 }
        return stride
    }

    private static func pairWords(events: Int, categories: Int) -> Int { (events * categories + 31) / 32 }

    @inline(__always)
    private func record(_ user: Int) -> UnsafeMutableRawPointer { storage + user * stride }

    @inline(__always)
    private func counter(_ record: UnsafeMutableRawPointer, _ index: Int) -> Int {
        EventCounts.counter(UnsafeRawPointer(record), index, wide: counterBytes == 4)
    }

    /// Counter `index` of a record whose counters are 32-bit (`wide`) or 16-bit.
    @inline(__always)
    private static func counter(_ record: UnsafeRawPointer, _ index: Int, wide: Bool) -> Int {
        wide ? Int(record.load(fromByteOffset: 4 * index, as: UInt32.self)) : Int(record.load(fromByteOffset: 2 * index, as: UInt16.self))
    }

    @inline(__always)
    private func pairBits(_ record: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UInt32> {
        (record + (eventCapacity + categoryCapacity) * counterBytes).assumingMemoryBound(to: UInt32.self)
    }

    /// Loads a user's line ahead of `add`, so a batch's cache misses overlap.
    @inline(__always)
    func touch(user: Int) -> UInt32 {
        record(user).load(as: UInt32.self)
    }

    /// Asks for a user's counters ahead of reading them.
    @inline(__always)
    func prefetch(user: Int) { fu_prefetch(record(user)) }

    /// Adds a user with all counts zero (its number is the old `users`); false, adding
    /// nothing, when that would pass the limit.
    @discardableResult
    func addUser() -> Bool {
        if users == capacity {
            guard fits(capacity * 2 * stride) else { return false }
            let bigger = EventCounts.allocate(capacity * 2 * stride)
            bigger.copyMemory(from: storage, byteCount: users * stride)
            storage.deallocate()
            storage = bigger
            capacity *= 2
        }
        record(users).initializeMemory(as: UInt8.self, repeating: 0, count: stride)
        users += 1
        return true
    }

    /// Whether a new block of `bytes` fits the limit beside the current one (and sets
    /// `overLimit` when it does not).
    private func fits(_ bytes: Int) -> Bool {
        let (total, overflow) = bytes.addingReportingOverflow(capacity * stride)
        if overflow || total > limit { overLimit = true }
        return !overLimit
    }

    /// The bytes the counters take.
    var bytes: Int { capacity * stride }

    /// Zeroes a user's counters (a stream scorer reuses an evicted user's slot).
    func clear(user: Int) {
        record(user).initializeMemory(as: UInt8.self, repeating: 0, count: stride)
    }

    /// A user's (event, category) pairs that occurred, for a stream's saved state.
    func pairs(user: Int) -> [(event: Int, category: Int)] {
        let bits = pairBits(record(user))
        var result: [(Int, Int)] = []
        for pair in 0..<(eventCapacity * categoryCapacity) where bits[pair >> 5] & (1 << UInt32(pair & 31)) != 0 {
            result.append((pair / categoryCapacity, pair % categoryCapacity))
        }
        return result
    }

    /// Sets a user's counters from a saved state (the user's slot is zero; counts fit 32 bits).
    func restore(user: Int, events: [(Int, Int)], categories: [(Int, Int)], pairs: [(Int, Int)]) {
        let maxEvent = (events.map(\.0) + pairs.map(\.0)).max() ?? 0
        let maxCategory = (categories.map(\.0) + pairs.map(\.1)).max() ?? 0
        let maxCount = (events + categories).map(\.1).max() ?? 0
        if maxEvent >= eventCapacity || maxCategory >= categoryCapacity || (maxCount > Int(UInt16.max) && counterBytes == 2) {
            relayout(events: maxEvent + 1, categories: maxCategory + 1, counterBytes: maxCount > Int(UInt16.max) ? 4 : counterBytes)
        }
        let base = record(user)
        for (event, count) in events { setCounter(base, event, count) }
        for (category, count) in categories { setCounter(base, eventCapacity + category, count) }
        let bits = pairBits(base)
        for (event, category) in pairs {
            let pair = event * categoryCapacity + category
            bits[pair >> 5] |= 1 << UInt32(pair & 31)
        }
    }

    @inline(__always)
    private func setCounter(_ record: UnsafeMutableRawPointer, _ index: Int, _ value: Int) {
        if counterBytes == 2 {
            record.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: 2 * index, as: UInt16.self)
        } else {
            record.storeBytes(of: UInt32(truncatingIfNeeded: value), toByteOffset: 4 * index, as: UInt32.self)
        }
    }

    /// The first capacities. fu's own data has 5 event types and 6 categories.
    static let initialEventCapacity = 6
    static let initialCategoryCapacity = 6
    /// Capacities double up to the parser's limit on types and categories, not past it.
    static let capacityLimit = 64

    /// Sets a zero user's counters from `CompactCounts`' layout: `types` event-type counts
    /// then 6 category counts (16-bit, at `counters`), and the pair bits numbered
    /// event × 6 + category. A type past this block's capacity grows it first (once).
    func set(user: Int, counters: UnsafeRawPointer, types: Int, pairs: UInt64) {
        precondition(categoryCapacity == EventCounts.initialCategoryCapacity)
        let highestType = (0..<types).last { counters.load(fromByteOffset: 2 * $0, as: UInt16.self) != 0 } ?? 0
        if highestType >= eventCapacity { relayout(events: highestType + 1, categories: categoryCapacity, counterBytes: counterBytes) }
        let base = record(user)
        // Types past the capacity have no counts (it grew to the highest that has).
        for event in 0..<min(types, eventCapacity) { setCounter(base, event, Int(counters.load(fromByteOffset: 2 * event, as: UInt16.self))) }
        for category in 0..<categoryCapacity {
            setCounter(base, eventCapacity + category, Int(counters.load(fromByteOffset: 2 * (types + category), as: UInt16.self)))
        }
        // Both number a pair event × 6 + category, so the bits carry over as they are.
        let bits = pairBits(base)
        for word in 0..<min(2, EventCounts.pairWords(events: eventCapacity, categories: categoryCapacity)) {
            bits[word] = UInt32(truncatingIfNeeded: pairs >> UInt64(32 * word))
        }
    }

    /// Forgets all users (the streaming mode reuses one slot).
    func removeAll() { users = 0 }

    @inline(__always)
    func add(user: Int, event: Int, category: Int) {
        if event >= eventCapacity || category >= categoryCapacity {
            guard relayout(events: event + 1, categories: category + 1, counterBytes: counterBytes) else { return }
        }
        var base = record(user)
        let categoryIndex = eventCapacity + category
        if counterBytes == 2 {
            let events = base.load(fromByteOffset: 2 * event, as: UInt16.self)
            let categories = base.load(fromByteOffset: 2 * categoryIndex, as: UInt16.self)
            if events < .max && categories < .max {
                base.storeBytes(of: events + 1, toByteOffset: 2 * event, as: UInt16.self)
                base.storeBytes(of: categories + 1, toByteOffset: 2 * categoryIndex, as: UInt16.self)
            } else {
                guard relayout(events: eventCapacity, categories: categoryCapacity, counterBytes: 4) else { return }
                base = record(user)
            }
        }
        if counterBytes == 4 {
            let events = base.load(fromByteOffset: 4 * event, as: UInt32.self)
            let categories = base.load(fromByteOffset: 4 * categoryIndex, as: UInt32.self)
            base.storeBytes(of: events &+ 1, toByteOffset: 4 * event, as: UInt32.self)
            base.storeBytes(of: categories &+ 1, toByteOffset: 4 * categoryIndex, as: UInt32.self)
        }
        let pair = event * categoryCapacity + category
        pairBits(base)[pair >> 5] |= 1 << UInt32(pair & 31)
    }

    /// One user's counters read in place, for a scorer that reads them all (fu-watch's
    /// bounded verdicts): the checks of `eventCount` made once, not per count.
    struct UserCounters {
        let record: UnsafeRawPointer
        let wide: Bool
        /// Types and categories below these have a counter (the others count 0).
        let types: Int, categories: Int
        private let categoryStart: Int

        init(record: UnsafeRawPointer, counterBytes: Int, types: Int, categories: Int) {
            (self.record, wide, self.types, self.categories, categoryStart) = (record, counterBytes == 4, types, categories, types)
        }

        /// Type `t`'s count, for t below `types`.
        @inline(__always)
        func type(_ t: Int) -> Int { EventCounts.counter(record, t, wide: wide) }

        /// Category `c`'s count, for c below `categories`.
        @inline(__always)
        func category(_ c: Int) -> Int { EventCounts.counter(record, categoryStart + c, wide: wide) }
    }

    @inline(__always)
    func counters(user: Int) -> UserCounters {
        UserCounters(record: record(user), counterBytes: counterBytes, types: eventCapacity, categories: categoryCapacity)
    }

    func eventCount(user: Int, event: Int) -> Int {
        event < eventCapacity ? counter(record(user), event) : 0
    }

    /// The user's events (fu-featurize's `total_events`): its counts over the types.
    @inline(__always)
    func totalEvents(user: Int) -> Int {
        let base = record(user)
        var total = 0
        for event in 0..<eventCapacity { total += counter(base, event) }
        return total
    }

    func categoryCount(user: Int, category: Int) -> Int {
        category < categoryCapacity ? counter(record(user), eventCapacity + category) : 0
    }

    @inline(__always)
    func distinctPairs(user: Int) -> Int {
        let bits = pairBits(record(user))
        var total = 0
        for word in 0..<EventCounts.pairWords(events: eventCapacity, categories: categoryCapacity) { total += bits[word].nonzeroBitCount }
        return total
    }

    /// `count` (at most 64) bits of a bit array of 32-bit words from bit `start`.
    @inline(__always)
    private static func bits(_ words: UnsafeMutablePointer<UInt32>, at start: Int, count: Int) -> UInt64 {
        var result: UInt64 = 0
        var taken = 0
        while taken < count {
            let position = start + taken
            let offset = position & 31
            let n = min(32 - offset, count - taken)
            let chunk = (UInt64(words[position >> 5]) >> UInt64(offset)) & ((1 << UInt64(n)) - 1)
            result |= chunk << UInt64(taken)
            taken += n
        }
        return result
    }

    /// ORs `value`'s bits into a bit array of 32-bit words from bit `start`.
    @inline(__always)
    private static func setBits(_ words: UnsafeMutablePointer<UInt32>, at start: Int, _ value: UInt64) {
        var rest = value
        var position = start
        while rest != 0 {
            let offset = position & 31
            words[position >> 5] |= UInt32(truncatingIfNeeded: rest << UInt64(offset))
            let n = 32 - offset
            rest = n >= 64 ? 0 : rest >> UInt64(n)
            position += n
        }
    }

    /// Lays every user out again with room for `events` types and `categories` categories
    /// (capacities double until they fit, up to `capacityLimit` unless more are asked for)
    /// and counters of `counterBytes`; false, changing nothing, past the limit.
    @discardableResult
    private func relayout(events: Int, categories: Int, counterBytes newCounterBytes: Int) -> Bool {
        var newEvents = eventCapacity
        var newCategories = categoryCapacity
        func doubled(_ capacity: Int, toHold needed: Int) -> Int {
            min(capacity * 2, max((needed + 1) / 2 * 2, EventCounts.capacityLimit))  // even
        }
        while newEvents < events { newEvents = doubled(newEvents, toHold: events) }
        while newCategories < categories { newCategories = doubled(newCategories, toHold: categories) }
        let newStride = EventCounts.stride(events: newEvents, categories: newCategories, counterBytes: newCounterBytes)
        guard fits(capacity * newStride) else { return false }
        let bigger = EventCounts.allocate(capacity * newStride)
        // The users' part only, as `addUser` zeroes each new one: the rest of a reserved
        // capacity (a stream's, `StreamScorer.reservedSlots`) stays untouched, uncommitted.
        bigger.initializeMemory(as: UInt8.self, repeating: 0, count: users * newStride)
        let old = (events: eventCapacity, categories: categoryCapacity, counterBytes: counterBytes)
        for user in 0..<users {
            let from = record(user)
            let to = bigger + user * newStride
            func move(_ index: Int, to newIndex: Int) {
                let value = old.counterBytes == 2
                    ? UInt32(from.load(fromByteOffset: 2 * index, as: UInt16.self))
                    : from.load(fromByteOffset: 4 * index, as: UInt32.self)
                if newCounterBytes == 2 {
                    to.storeBytes(of: UInt16(value), toByteOffset: 2 * newIndex, as: UInt16.self)
                } else {
                    to.storeBytes(of: value, toByteOffset: 4 * newIndex, as: UInt32.self)
                }
            }
            for event in 0..<old.events { move(event, to: event) }
            for category in 0..<old.categories { move(old.events + category, to: newEvents + category) }
            // Each event type's row of pair bits moves as one block (at most 64 bits):
            // bit by bit, a million users with 64 types × 64 categories took half a minute.
            let oldPairs = (from + (old.events + old.categories) * old.counterBytes).assumingMemoryBound(to: UInt32.self)
            let newPairs = (to + (newEvents + newCategories) * newCounterBytes).assumingMemoryBound(to: UInt32.self)
            for event in 0..<old.events {
                let row = EventCounts.bits(oldPairs, at: event * old.categories, count: old.categories)
                if row != 0 { EventCounts.setBits(newPairs, at: event * newCategories, row) }
            }
        }
        storage.deallocate()
        storage = bigger
        stride = newStride
        eventCapacity = newEvents
        categoryCapacity = newCategories
        counterBytes = newCounterBytes
        return true
    }
}
