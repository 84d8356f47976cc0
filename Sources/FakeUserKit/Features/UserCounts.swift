import CIntrinsics

/// One user's counts as `FeatureSet` reads them: from `EventCounts`, or in place from a
/// slot of `CompactCounts` (fu-featurize writes its rows from the compact table itself,
/// not from a copy in the general form).
protocol OneUserCounts {
    /// The count of event type `type` (0 for a type it has no counter for).
    func events(_ type: Int) -> Int
    /// The count of category `category` (0 for one it has no counter for).
    func category(_ category: Int) -> Int
    /// The distinct (event type, category) pairs.
    var distinctPairs: Int { get }
}

/// Every user's counts, by user number.
protocol CountsByUser {
    associatedtype User: OneUserCounts
    func counts(of user: Int) -> User
    /// Asks for what `counts(of:)` reads, a few users ahead, so that the misses overlap.
    func prefetch(user: Int)
    /// The step before `prefetch`, further ahead, where reaching the counts takes two loads.
    func prefetchEarly(user: Int)
}

extension EventCounts: CountsByUser {
    struct User: OneUserCounts {
        // Unowned: a reference counted per row bounces between the formatting cores.
        unowned(unsafe) let counts: EventCounts
        let user: Int

        @inline(__always) func events(_ type: Int) -> Int { counts.eventCount(user: user, event: type) }
        @inline(__always) func category(_ category: Int) -> Int { counts.categoryCount(user: user, category: category) }
        @inline(__always) var distinctPairs: Int { counts.distinctPairs(user: user) }
    }

    @inline(__always) func counts(of user: Int) -> User { User(counts: self, user: user) }
    @inline(__always) func prefetchEarly(user: Int) {}
}

extension CompactCounts: CountsByUser {
    /// A slot's counters, read in place.
    struct User: OneUserCounts {
        let entry: UnsafeRawPointer

        @inline(__always) func events(_ type: Int) -> Int {
            type < CompactCounts.events ? Int(entry.load(fromByteOffset: CompactCounts.countersOffset + 2 * type, as: UInt16.self)) : 0
        }

        @inline(__always) func category(_ category: Int) -> Int {
            guard category < CompactCounts.categories else { return 0 }
            return Int(entry.load(fromByteOffset: CompactCounts.countersOffset + 2 * (CompactCounts.events + category), as: UInt16.self))
        }

        @inline(__always) var distinctPairs: Int {
            (entry.load(fromByteOffset: 24, as: UInt64.self) & CompactCounts.pairMask).nonzeroBitCount
        }
    }

    /// Valid once `indexSlots()` has run.
    @inline(__always) func counts(of user: Int) -> User { User(entry: UnsafeRawPointer(userSlots![user])) }
    @inline(__always) func prefetch(user: Int) { fu_prefetch(userSlots![user]) }
    @inline(__always) func prefetchEarly(user: Int) { fu_prefetch(userSlots! + user) }
}
