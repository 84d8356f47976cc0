import Dispatch

/// `items.map(body)` with the calls spread over the cores; results keep their order, so
/// the output is the same as a serial run.
public func parallelMap<Item, Result>(_ items: [Item], _ body: (Item) throws -> Result) rethrows -> [Result] {
    if items.count <= 1 { return try items.map(body) }
    return try withoutActuallyEscaping(body) { body in
        let box = ParallelResults<Item, Result>(items: items, body: body)
        DispatchQueue.concurrentPerform(iterations: items.count) { box.run($0) }
        return try box.collect()
    }
}

/// Each slot is written by exactly one iteration, and read only after all have finished.
private final class ParallelResults<Item, Result>: @unchecked Sendable {
    let items: [Item]
    let body: (Item) throws -> Result
    let slots: UnsafeMutablePointer<Swift.Result<Result, any Error>?>

    init(items: [Item], body: @escaping (Item) throws -> Result) {
        self.items = items
        self.body = body
        slots = .allocate(capacity: items.count)
        slots.initialize(repeating: nil, count: items.count)
    }

    deinit {
        slots.deinitialize(count: items.count)
        slots.deallocate()
    }

    func run(_ index: Int) {
        slots[index] = Swift.Result { try body(items[index]) }
    }

    func collect() throws -> [Result] {
        try (0..<items.count).map { try slots[$0]!.get() }
    }
}
