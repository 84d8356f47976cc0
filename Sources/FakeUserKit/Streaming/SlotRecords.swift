/// A stream scorer's (and its index's) per-slot records in one allocation that only grows. Not an Array:
/// each event writes several records, and an Array property of a class checks its
/// uniqueness (and retains it) on every write, which showed in profiles. The owner
/// deallocates it. Aligned to cache lines (`allocateCacheAligned`).
struct SlotRecords<Element> {
    private var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1024) {
        precondition(capacity > 0)
        self.capacity = capacity
        base = allocateCacheAligned(capacity)
    }

    mutating func append(_ element: Element) {
        if count == capacity {
            let bigger: UnsafeMutablePointer<Element> = allocateCacheAligned(capacity * 2)
            bigger.moveInitialize(from: base, count: count)
            base.deallocate()
            base = bigger
            capacity *= 2
        }
        (base + count).initialize(to: element)
        count += 1
    }

    subscript(slot: Int) -> Element {
        unsafeAddress { UnsafePointer(base + slot) }
        nonmutating unsafeMutableAddress { base + slot }
    }

    /// Valid until the next `append`.
    func pointer(_ slot: Int) -> UnsafeMutablePointer<Element> { base + slot }

    func deallocate() {
        base.deinitialize(count: count)
        base.deallocate()
    }
}
