#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Plain threads and a bounded blocking queue, for the two-stage pipelines of the hot
/// paths (decode | parse | aggregate). Tools are synchronous filters, so OS threads and a
/// mutex are simpler here than Swift concurrency's executors.
final class BackgroundThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void

    /// Starts `body` on a new thread; `join()` waits for it.
    init(_ body: @escaping () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { raw in
            let me = Unmanaged<BackgroundThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    func join() {
        pthread_join(thread, nil)
    }

    /// Lets the thread end on its own, unwaited for.
    func detach() {
        pthread_detach(thread)
    }
}

/// A value computed on a thread of its own while the caller does other work: `value()`
/// waits for it and returns it, or throws what the work threw. A caller that fails first
/// calls `abandon()` instead: the work is told (it checks the function it is given now and
/// then, and stops early) and not waited for, so the caller's error is not held up by,
/// say, a file still being read.
final class BackgroundResult<Value>: @unchecked Sendable {
    private var result: Result<Value, Error>?
    private var thread: BackgroundThread?
    private let abandoned = Atomic<Bool>(false)

    init(_ work: @escaping (_ abandoned: () -> Bool) throws -> Value) {
        // The thread holds `self` until the work ends.
        thread = BackgroundThread { self.result = Result { try work { self.abandoned.load(ordering: .relaxed) } } }
    }

    /// Tells the work to stop, and lets it end on its own; `value()` may not be called after.
    func abandon() {
        guard let thread else { return }
        abandoned.store(true, ordering: .relaxed)
        thread.detach()
        self.thread = nil
    }

    func value() throws -> Value {
        if let thread {
            thread.join()
            self.thread = nil
        }
        return try result!.get()
    }
}

/// A FIFO of at most `capacity` items; `put` waits while full, `take` while empty.
final class BlockingQueue<Element>: @unchecked Sendable {
    private var items: [Element?]
    private var head = 0
    private var count = 0
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(capacity: Int) {
        items = Array(repeating: nil, count: capacity)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(changed)
        mutex.deallocate()
        changed.deallocate()
    }

    func put(_ item: Element) {
        pthread_mutex_lock(mutex)
        while count == items.count { pthread_cond_wait(changed, mutex) }
        items[(head + count) % items.count] = item
        count += 1
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    func take() -> Element {
        pthread_mutex_lock(mutex)
        while count == 0 { pthread_cond_wait(changed, mutex) }
        let item = items[head]!
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        return item
    }

    /// The first item, or nil at once when there is none.
    func tryTake() -> Element? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard count > 0 else { return nil }
        let item = items[head]!
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        pthread_cond_broadcast(changed)
        return item
    }
}
