import Testing
@testable import FakeUserKit

/// fu-watch's id index against a Dictionary, under the churn of eviction: removals shift
/// entries back across the table's wrap-around, slots are reused by ids of other lengths.
@Suite struct SlotIndexTests {
    @Test func agreesWithADictionaryUnderChurn() {
        var random: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            // xorshift64: the same sequence on every machine.
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            return Int(random % UInt64(bound))
        }
        // Short ids live in a slot's record, long ones (over 16 bytes) in the arena; ids of
        // every length from 1 to 16 (a record's words are loaded in parts for those).
        let ids = (0..<3000).map { n in
            Array((n % 3 == 0 ? "a-long-user-id-number-\(n)" : n % 3 == 1 ? "U\(n)" : "\(n)" + String(repeating: "z", count: n % 13)).utf8)
        }
        let index = SlotIndex(initialEntries: 8)
        var slotOf: [[UInt8]: Int] = [:]
        var free: [Int] = []
        var slots = 0
        for _ in 0..<200_000 {
            let id = ids[next(ids.count)]
            let found = id.withUnsafeBufferPointer { index.find($0, hash: SlotIndex.hash($0)) }
            #expect(found == slotOf[id])
            if let slot = found {
                #expect(Array(index.id(slot)) == id)
                if next(3) == 0 {
                    index.remove(slot: slot)
                    slotOf[id] = nil
                    free.append(slot)
                }
            } else {
                let slot = free.popLast() ?? slots
                if slot == slots { slots += 1 }
                id.withUnsafeBufferPointer { index.insert($0, hash: SlotIndex.hash($0), slot: slot) }
                slotOf[id] = slot
            }
            #expect(index.count == slotOf.count)
        }
        for id in ids {
            #expect(id.withUnsafeBufferPointer { index.find($0, hash: SlotIndex.hash($0)) } == slotOf[id])
        }
    }
}
