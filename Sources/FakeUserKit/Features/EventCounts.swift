/// Per-user counters in one flat block: for each user, a count per event type, a count per
/// category, and a bit per event×category pair. The block is re-laid out (rarely) when a
/// new type or category exceeds the current capacity, so memory is a few dozen bytes per
/// user whatever the number of events.
final class EventCounts {
    // 8 types, 6 categories and 48 pair bits make 16 words: one 64-byte cache line a user.
    private(set) var eventCapacity = EventCounts.initialEventCapacity
    private(set) var categoryCapacity = EventCounts.initialCategoryCapacity
    private var stride: Int
    private var storage: UnsafeMutablePointer<UInt32>
    private var capacity: Int
    private(set) var users = 0
    /// Bytes the counters may take, the old and the new block together while they are
    /// re-laid out (a server's per-request budget). Past it nothing is allocated:
    /// `addUser` adds no user, `add` drops the count, and `overLimit` is set.
    let limit: Int
    private(set) var overLimit = false

    init(users initialUsers: Int = 1024, limit: Int = .max) {
        self.limit = limit
        stride = EventCounts.stride(events: eventCapacity, categories: categoryCapacity)
        capacity = max(initialUsers, 1)
        storage = allocateCacheAligned(capacity * stride)  // a user's counters never straddle two lines
    }

    deinit { storage.deallocate() }

    private static func stride(events: Int, categories: Int) -> Int {
        let words = events + categories + (events * categories + 31) / 32
        return (words + 15) / 16 * 16
    }

    /// Loads a user's line ahead of `add`, so a batch's cache misses overlap.
    @inline(__always)
    func touch(user: Int) -> UInt32 {
        storage[user * stride]
    }

    /// Adds a user with all counts zero (its number is the old `users`); false, adding
    /// nothing, when that would pass the limit.
    @discardableResult
    func addUser() -> Bool {
        if users == capacity {
            guard fits(capacity * 2 * stride) else { return false }
            let bigger = allocateCacheAligned(capacity * 2 * stride, of: UInt32.self)
            bigger.update(from: storage, count: users * stride)
            storage.deallocate()
            storage = bigger
            capacity *= 2
        }
        (storage + users * stride).initialize(repeating: 0, count: stride)
        users += 1
        return true
    }

    /// Whether a new block of `words` fits the limit beside the current one (and sets
    /// `overLimit` when it does not).
    private func fits(_ words: Int) -> Bool {
        let (total, overflow) = (words + capacity * stride).multipliedReportingOverflow(by: 4)
        if overflow || total > limit { overLimit = true }
        return !overLimit
    }

    /// The bytes the counters take.
    var bytes: Int { capacity * stride * 4 }

    /// Zeroes a user's counters (a stream scorer reuses an evicted user's slot).
    func clear(user: Int) {
        (storage + user * stride).update(repeating: 0, count: stride)
    }

    /// A user's (event, category) pairs that occurred, for a stream's saved state.
    func pairs(user: Int) -> [(event: Int, category: Int)] {
        let base = storage + user * stride + eventCapacity + categoryCapacity
        var result: [(Int, Int)] = []
        for pair in 0..<(eventCapacity * categoryCapacity) where base[pair >> 5] & (1 << UInt32(pair & 31)) != 0 {
            result.append((pair / categoryCapacity, pair % categoryCapacity))
        }
        return result
    }

    /// Sets a user's counters from a saved state (the user's slot is zero).
    func restore(user: Int, events: [(Int, Int)], categories: [(Int, Int)], pairs: [(Int, Int)]) {
        let maxEvent = (events.map(\.0) + pairs.map(\.0)).max() ?? 0
        let maxCategory = (categories.map(\.0) + pairs.map(\.1)).max() ?? 0
        if maxEvent >= eventCapacity || maxCategory >= categoryCapacity { grow(events: maxEvent + 1, categories: maxCategory + 1) }
        let base = storage + user * stride
        for (event, count) in events { base[event] = UInt32(count) }
        for (category, count) in categories { base[eventCapacity + category] = UInt32(count) }
        for (event, category) in pairs {
            let pair = event * categoryCapacity + category
            base[eventCapacity + categoryCapacity + pair >> 5] |= 1 << UInt32(pair & 31)
        }
    }

    /// The first capacities: `CompactCounts` counts in this layout until input outgrows it.
    static let initialEventCapacity = 8
    static let initialCategoryCapacity = 6

    /// Sets a zero user's counters at the first capacities: 8 event-type counts then 6
    /// category counts (16-bit, at `counters`), and the pair bits numbered
    /// event × 6 + category (what `CompactCounts` keeps).
    func set(user: Int, counters: UnsafeRawPointer, pairs: UInt64) {
        precondition(eventCapacity == EventCounts.initialEventCapacity && categoryCapacity == EventCounts.initialCategoryCapacity)
        let base = storage + user * stride
        for i in 0..<(eventCapacity + categoryCapacity) {
            base[i] = UInt32(counters.load(fromByteOffset: 2 * i, as: UInt16.self))
        }
        base[eventCapacity + categoryCapacity] = UInt32(truncatingIfNeeded: pairs)
        base[eventCapacity + categoryCapacity + 1] = UInt32(truncatingIfNeeded: pairs >> 32)
    }

    /// Forgets all users (the streaming mode reuses one slot).
    func removeAll() { users = 0 }

    @inline(__always)
    func add(user: Int, event: Int, category: Int) {
        if event >= eventCapacity || category >= categoryCapacity {
            guard grow(events: event + 1, categories: category + 1) else { return }
        }
        let base = storage + user * stride
        base[event] &+= 1
        base[eventCapacity + category] &+= 1
        let pair = event * categoryCapacity + category
        base[eventCapacity + categoryCapacity + pair >> 5] |= 1 << UInt32(pair & 31)
    }

    func eventCount(user: Int, event: Int) -> Int {
        event < eventCapacity ? Int(storage[user * stride + event]) : 0
    }

    /// The user's events (fu-featurize's `total_events`): its counts over the types.
    @inline(__always)
    func totalEvents(user: Int) -> Int {
        let base = storage + user * stride
        var total = 0
        for event in 0..<eventCapacity { total += Int(base[event]) }
        return total
    }

    func categoryCount(user: Int, category: Int) -> Int {
        category < categoryCapacity ? Int(storage[user * stride + eventCapacity + category]) : 0
    }

    func distinctPairs(user: Int) -> Int {
        let base = storage + user * stride + eventCapacity + categoryCapacity
        var total = 0
        for word in 0..<(stride - eventCapacity - categoryCapacity) { total += base[word].nonzeroBitCount }
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

    private func grow(events: Int, categories: Int) -> Bool {
        var newEvents = eventCapacity
        var newCategories = categoryCapacity
        while newEvents < events { newEvents *= 2 }
        while newCategories < categories { newCategories *= 2 }
        let newStride = EventCounts.stride(events: newEvents, categories: newCategories)
        guard fits(capacity * newStride) else { return false }
        let bigger = allocateCacheAligned(capacity * newStride, of: UInt32.self)
        // The users' part only, as `addUser` zeroes each new one: the rest of a reserved
        // capacity (a stream's, `StreamScorer.reservedSlots`) stays untouched, uncommitted.
        bigger.initialize(repeating: 0, count: users * newStride)
        for user in 0..<users {
            let from = storage + user * stride
            let to = bigger + user * newStride
            to.update(from: from, count: eventCapacity)
            (to + newEvents).update(from: from + eventCapacity, count: categoryCapacity)
            // Each event type's row of pair bits moves as one block (at most 64 bits):
            // bit by bit, a million users with 64 types × 64 categories took half a minute.
            let oldPairs = from + eventCapacity + categoryCapacity
            let newPairs = to + newEvents + newCategories
            for event in 0..<eventCapacity {
                let row = EventCounts.bits(oldPairs, at: event * categoryCapacity, count: categoryCapacity)
                if row != 0 { EventCounts.setBits(newPairs, at: event * newCategories, row) }
            }
        }
        storage.deallocate()
        storage = bigger
        stride = newStride
        eventCapacity = newEvents
        categoryCapacity = newCategories
        return true
    }
}
