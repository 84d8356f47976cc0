import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The temporary files of unfinished outputs, removed when SIGINT, SIGTERM or SIGHUP stops
/// the tool (the files they would replace stay as they were).
///
/// A signal handler may only call async-signal-safe functions, so the paths sit in a fixed
/// table of C strings allocated outside it; the handler unlinks them and re-raises the
/// signal with its default action, so the exit status still says which signal it was.
public enum TemporaryFiles {
    private static let slots = 1024
    private nonisolated(unsafe) static let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: slots)
        table.initialize(repeating: nil, count: slots)
        return table
    }()
    private nonisolated(unsafe) static var installed = false
    private static let lock = Mutex(())

    static func remember(_ path: String) {
        lock.withLock { _ in
            installHandlers()
            // A tool has a handful of outputs (fu-partition up to 256 buckets); past the table's size a file is simply not
            // cleaned up on a signal.
            for slot in 0..<slots where table[slot] == nil {
                table[slot] = strdup(path)
                return
            }
        }
    }

    /// Also for a tool that shows progress and writes no file: the handler ends its
    /// progress line, so the shell's prompt does not land on it.
    static func watchSignals() {
        lock.withLock { _ in installHandlers() }
    }

    /// For a process whose signals are taken by someone else (fu-serve: ServiceLifecycle
    /// stops it gracefully on SIGTERM and SIGINT, and reloads on SIGHUP): no handler of
    /// ours replaces theirs when a file is written (a checkpoint's would kill the server).
    public static func leaveSignalsAlone() {
        lock.withLock { _ in installed = true }
    }

    /// Under `lock`.
    private static func installHandlers() {
        guard !installed else { return }
        installed = true
        for signal in [SIGINT, SIGTERM, SIGHUP] { installHandler(signal) }
    }

    static func forget(_ path: String) {
        lock.withLock { _ in
            for slot in 0..<slots {
                if let entry = table[slot], String(cString: entry) == path {
                    table[slot] = nil
                    free(entry)
                    return
                }
            }
        }
    }

    private static func installHandler(_ signal: Int32) {
        // A signal ignored when the tool started (nohup; SIGINT for a background job of a
        // script) stays ignored.
        var previous = sigaction()
        sigaction(signal, nil, &previous)
        #if canImport(Glibc)
        if unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) == 1 { return }  // SIG_IGN
        #else
        if unsafeBitCast(previous.__sigaction_u.__sa_handler, to: Int.self) == 1 { return }
        #endif
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { number in
            TemporaryFiles.removeAllAndReraise(number)
        }
        #else
        action.__sigaction_u.__sa_handler = { number in
            TemporaryFiles.removeAllAndReraise(number)
        }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)
        sigaction(signal, &action, nil)
    }

    private static func removeAllAndReraise(_ number: Int32) {
        for slot in 0..<slots {
            if let entry = table[slot] { unlink(entry) }
        }
        if Progress.lineIsOpen {
            var newline = UInt8(ascii: "\n")
            _ = write(2, &newline, 1)
        }
        // SA_RESETHAND restored the default action.
        raise(number)
    }
}

/// Makes a folder and its parents when missing (as `mkdir -p`); `what` names it in errors.
public func makeDirectory(_ path: String, what: String = "folder") throws {
    var built = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        built += part + "/"
        if mkdir(built, 0o777) != 0 && errno != EEXIST {
            throw ToolError.io("cannot create \(what) \(path): \(FileDescriptor.errnoText())")
        }
    }
}
