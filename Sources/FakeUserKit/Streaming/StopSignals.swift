#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT, SIGTERM and SIGHUP for a stream that saves its state before it stops. The
/// signals are blocked in every thread and taken by one thread with `sigwait`; that thread
/// waits for the stream's lock (free while the stream waits for input), runs the stop
/// action (save, flush), and re-raises the signal with its default action, so the exit
/// status still says which signal it was. A handler could not do this: saving is not
/// async-signal-safe.
public final class StopSignals: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var watcher: BackgroundThread?

    private static var stopSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, signal) }
        return set
    }

    /// Blocks the stop signals in this thread and every thread started after: call it
    /// before anything starts a thread (opening the input does).
    public init() {
        var set = StopSignals.stopSignals
        pthread_sigmask(SIG_BLOCK, &set, nil)
        pthread_mutex_init(mutex, nil)
    }

    /// Held by the stream while it works; released while it waits for input.
    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `action` at a safe point when a stop signal arrives, then stops the process.
    public func onStop(_ action: @escaping @Sendable () -> Void) {
        watcher = BackgroundThread { [self] in
            var set = StopSignals.stopSignals
            var number: Int32 = 0
            guard sigwait(&set, &number) == 0 else { return }
            lock()
            action()
            signal(number, SIG_DFL)
            var one = sigset_t()
            sigemptyset(&one)
            sigaddset(&one, number)
            pthread_sigmask(SIG_UNBLOCK, &one, nil)
            raise(number)
            exit(128 + number)  // not reached: the default action ends the process
        }
    }
}
