/// fu-featurize's counting: every user's counters, from events in any order, counted a
/// part of the table at a time (`EventsByPart`). Events are held in one group while the
/// group before is counted, a batch's worth at a time, so the parsing thread never waits
/// for a whole group's counting. Counts go to one compact table (one cache line an event)
/// while the input fits it, then to the general form (`UserIndex` and `EventCounts`).
final class PartCounting {
    private(set) var compact: CompactCounts? = CompactCounts()
    private(set) var general: (users: UserIndex, counts: EventCounts)?
    /// Each user's Fake (-1 without the column), by user number.
    private(set) var labels: [Int8] = []
    private let reader: TableReader

    private var filling: EventsByPart
    private var counting: EventsByPart
    /// Where counting is in `counting`: a part, and an event in it.
    private var part = CompactCounts.parts
    private var next = 0
    /// The earliest label conflict counted in the group so far.
    private var conflict: (index: Int, arrival: Int, previous: Int8, label: Int8)?
    /// Whether every held event is counted and the groups' memory freed (`finish`).
    private var groupsReleased = false
    /// Loads ahead in the general form, kept so they are not optimised away.
    private let touched = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * 256)

    /// The most slots of the next part an event asks for (`countCompact`).
    static let sweepLinesPerEvent = 8

    init(reader: TableReader, partCapacity: Int = EventsByPart.defaultPartCapacity) {
        self.reader = reader
        filling = EventsByPart(partCapacity: partCapacity)
        counting = EventsByPart(partCapacity: partCapacity)
    }

    deinit { touched.deallocate() }

    /// Holds a batch's events and counts as many held before. Once the counts are in the
    /// general form, whose table is not in parts, the held events are counted and later
    /// batches counted as they come (no memory for groups, no holding).
    func add(_ batch: EventBatch) throws {
        if let (users, counts) = general, groupsReleased {
            try countBatchInGeneralForm(batch, users: users, counts: counts, labels: &labels, reader: reader) { _, _ in
                preconditionFailure("a tool's counters have no budget")
            }
            return
        }
        // Read once into a local: each read of a class's `var` is a retain and a release.
        var filling = self.filling
        let hashed = batch.hashKind == .index
        for i in 0..<batch.count {
            let id = batch.id(i)
            let hash = hashed ? batch.hashes[i] : indexHash(id)
            while !filling.hold(id, hash: hash, event: batch.events[i], category: batch.categories[i], label: batch.labels[i], line: batch.lines[i]) {
                try startCountingHeld()
                filling = self.filling
            }
        }
        try count(upTo: batch.count)
        if general != nil { try finish() }
    }

    /// Counts every event held; throws the earliest label conflict among those not counted
    /// before.
    func finish() throws {
        try startCountingHeld()
        try count(upTo: .max)
        // The groups' memory goes before the rows are written out.
        (filling, counting) = (EventsByPart(partCapacity: 2), EventsByPart(partCapacity: 2))
        groupsReleased = true
    }

    /// Ends the group being counted and starts on the one being filled.
    private func startCountingHeld() throws {
        try count(upTo: .max)
        filling.seal()
        swap(&filling, &counting)
        filling.removeAll()
        (part, next, conflict) = (0, 0, nil)
    }

    /// Counts up to `budget` events of the group being counted; at its end, throws its
    /// earliest label conflict. One user's events keep their order within a group, so the
    /// first Fake a user is seen with is the same as in file order.
    private func count(upTo budget: Int) throws {
        var left = budget
        while part < CompactCounts.parts && left > 0 {
            let events = counting.events(part: part)
            next = max(next, events.lowerBound)
            let end = next + min(left, events.upperBound - next)
            left -= end - next
            countCompact(events, until: end)
            countGeneral(until: end)
            if next == events.upperBound { (part, next) = (part + 1, 0) }
        }
        if part == CompactCounts.parts, let conflict {
            self.conflict = nil
            throw reader.labelConflict(
                userID: counting.id(conflict.index), previous: conflict.previous, label: conflict.label,
                line: counting.line(arrival: conflict.arrival))
        }
    }

    @inline(__always)
    private func check(_ index: Int, _ event: EventsByPart.Held, previous: Int8) {
        if previous != event.label, event.arrival < conflict?.arrival ?? .max {
            conflict = (index, event.arrival, previous, event.label)
        }
    }

    /// Counts from `next` in the compact table until `end` or the table's limits. Each
    /// event asks for its share of the next part's slots, so that the whole part is in the
    /// caches when its turn comes, and for its own slot a few events ahead: asked for one
    /// by one, 64 events ahead, a probe past the home slot and its neighbour missed the
    /// cache (a third of this loop's samples at 550,000 users). A part of more than
    /// `sweepLinesPerEvent` lines an event (from 2–3M users) is not asked for whole:
    /// each group would then read far more of the table than it touches.
    private func countCompact(_ events: Range<Int>, until end: Int) {
        guard let table = compact else { return }
        let counting = self.counting
        // The last part's events ask for the first part's slots, for the next group.
        let nextPart = (part + 1) % CompactCounts.parts
        let shares = events.count
        let sweeps = table.slotCount(part: nextPart) <= PartCounting.sweepLinesPerEvent * shares
        let distance = sweeps ? Featurizer.prefetchDistance : Featurizer.prefetchDistanceFromMemory
        for i in next..<min(next + distance, events.upperBound) { table.prefetch(hash: counting.hash(i)) }
        while next < end {
            let i = next
            if i + distance < events.upperBound { table.prefetch(hash: counting.hash(i + distance)) }
            if sweeps { table.prefetchShare(part: nextPart, i - events.lowerBound, of: shares) }
            let event = counting.held(i)
            guard let (user, firstLabel) = table.add(
                hash: event.hash, prefix: event.prefix, length: event.length, id: counting.id(i),
                event: event.event, category: event.category, label: event.label
            ) else {
                // Past the compact table's limits: the rest goes to the general form.
                general = table.handOver(hash: indexHash)
                compact = nil
                return
            }
            if user == labels.count {
                labels.append(event.label)
            } else {
                check(i, event, previous: firstLabel)
            }
            next += 1
        }
    }

    /// Counts from `next` until `end` in the general form, loading a few hundred events'
    /// slots and counters first, in loops with no dependency between events, so that their
    /// cache misses overlap.
    private func countGeneral(until end: Int) {
        guard let (users, counts) = general else { return }
        let counting = self.counting
        for block in stride(from: next, to: end, by: 256) {
            let rows = block..<min(block + 256, end)
            for i in rows { touched[i - block] = users.touch(hash: counting.hash(i)) }
            for i in rows {
                let user = users.findOrInsert(counting.id(i), hash: counting.hash(i))
                if user == counts.users {
                    _ = counts.addUser()
                    labels.append(counting.held(i).label)
                }
                touched[256 + i - block] = UInt64(user)
                touched[i - block] = UInt64(counts.touch(user: user))
            }
            for i in rows {
                let event = counting.held(i)
                let user = Int(touched[256 + i - block])
                check(i, event, previous: labels[user])
                counts.add(user: user, event: event.event, category: event.category)
            }
        }
        next = max(next, end)
    }

    /// The users, their counters, and their numbers in id order. The compact table's index
    /// of slots and the sort run side by side, each on a core: the output waits for both.
    func counted() -> (users: UserIDs, counts: Featurizer.CountsStore, order: [Int]) {
        if let (users, counts) = general { return (users.ids, .general(counts), users.ids.sortedByID()) }
        let table = compact!
        let order = parallelMap([true, false]) { sorts -> [Int] in
            if sorts { return table.ids.sortedByID() }
            table.indexSlots()
            return []
        }[0]
        return (table.ids, .compact(table), order)
    }
}
