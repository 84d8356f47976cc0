#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
}
