import Foundation
import Synchronization
import Testing

/// xsv-style test helper: a temporary folder, files written into it, and the real built
/// tools run in it through pipes. The folder goes when the last copy of the Workdir does.
struct Workdir {
    private let folder: Folder
    var url: URL { folder.url }

    init() throws {
        folder = try Folder()
    }

    /// Owns the folder: on deinit stops what the test's commands left running (their process
    /// groups), then removes the folder, so that a run leaves no `fu-e2e-*` behind.
    private final class Folder: Sendable {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fu-e2e-\(UUID().uuidString)")
        private let groups = Mutex<[pid_t]>([])

        init() throws {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }

        func track(_ group: pid_t) { groups.withLock { $0.append(group) } }

        deinit {
            // Ids are not reused until the pids wrap around (pid_max), far longer than a test.
            for group in groups.withLock({ $0 }) { kill(-group, SIGKILL) }
            // A killed process may still be closing a file in the folder: a second try then.
            if (try? FileManager.default.removeItem(at: url)) == nil {
                Thread.sleep(forTimeInterval: 0.1)
                try? FileManager.default.removeItem(at: url)
            }
        }
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent(name))
    }

    func write(_ name: String, bytes: [UInt8]) throws {
        try Data(bytes).write(to: url.appendingPathComponent(name))
    }

    func read(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: url.appendingPathComponent(name)), as: UTF8.self)
    }

    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    /// Copies a fixture (Tests/Fixtures: copies of ../shared/reference) into the folder.
    func fixture(_ name: String) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
        let target = url.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: target)
        return target.path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The command's process group (its pid), where what it left running still is.
        var processGroup: pid_t = 0
    }

    /// Runs a built tool with arguments; stdin from a file in the folder or from text.
    @discardableResult
    func run(_ tool: String, _ arguments: [String] = [], stdinFile: String? = nil, stdin: String? = nil, environment: [String: String] = [:]) throws -> Result {
        try runProcess(Workdir.binary(tool), arguments, stdinFile: stdinFile, stdin: stdin, environment: environment, deadline: Workdir.deadlineSeconds)
    }

    /// Runs a bash command line in the folder, with the tools on PATH.
    @discardableResult
    func shell(_ command: String, deadline: Double = Workdir.deadlineSeconds) throws -> Result {
        try runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", command], stdinFile: nil, stdin: nil,
                       environment: ["PATH": Workdir.binaries.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")],
                       deadline: deadline)
    }

    /// Spawns the command with posix_spawn and waits with waitpid. Foundation's Process is
    /// not used here: on Linux it learns of the exit through a socket the child inherits,
    /// so a server a shell example starts with `&` (and stops in a later example) kept
    /// `waitUntilExit` from returning. The child gets its own process group, only fds 0-2,
    /// and SIGPIPE at its default, as from an interactive shell; after
    /// `deadline` seconds its whole group is stopped.
    private func runProcess(_ executable: URL, _ arguments: [String], stdinFile: String?, stdin: String?, environment: [String: String], deadline: Double) throws -> Result {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "FU_LOG_DIR")
        env.removeValue(forKey: "FU_LOG_LEVEL")
        for (key, value) in environment { env[key] = value }
        let id = UUID().uuidString
        let out = url.appendingPathComponent(".stdout-\(id)")
        let err = url.appendingPathComponent(".stderr-\(id)")
        var input = "/dev/null"
        if let stdinFile {
            input = url.appendingPathComponent(stdinFile).path
        } else if let stdin {
            input = url.appendingPathComponent(".stdin-\(id)").path
            try Data(stdin.utf8).write(to: URL(fileURLWithPath: input))
        }
        defer {
            for file in [out.path, err.path] + (stdin == nil ? [] : [input]) { try? FileManager.default.removeItem(atPath: file) }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        GlibcSpawn.closeFrom(&actions, 3)
        GlibcSpawn.changeDirectory(&actions, url.path)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), pipeSignal = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &pipeSignal)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable.path, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw SpawnFailed(path: executable.path, code: spawned) }
        folder.track(pid)

        var status: Int32 = 0
        var stopAt = Date().addingTimeInterval(deadline)
        var timedOut = false
        while true {
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            // Never read a status that was not this child's as a success.
            if waited == -1 && errno != EINTR { throw SpawnFailed(path: executable.path, code: errno) }
            // A hung command (a loop waiting for a server that never answers) fails its
            // test instead of stalling the whole run until CI's limit: SIGTERM to its
            // group, SIGKILL 5 s later.
            if Date() > stopAt {
                kill(-pid, timedOut ? SIGKILL : SIGTERM)
                timedOut = true
                stopAt = Date().addingTimeInterval(5)
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        var errorText = String(decoding: try Data(contentsOf: err), as: UTF8.self)
        if timedOut { errorText += "\n(test helper: stopped after \(Int(deadline)) s)" }
        // As a shell reports it: the exit code, or 128 + the signal that ended the process.
        let signal = status & 0x7f
        return Result(
            status: signal == 0 ? (status >> 8) & 0xff : 128 + signal,
            stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
            stderr: errorText, processGroup: pid)
    }

    /// The longest any one command of a test may run (FU_TEST_DEADLINE seconds, default 600).
    static let deadlineSeconds = ProcessInfo.processInfo.environment["FU_TEST_DEADLINE"].flatMap(Double.init) ?? 600

    struct SpawnFailed: Error, CustomStringConvertible {
        var path: String
        var code: Int32
        var description: String { "cannot start or wait for \(path): \(String(cString: strerror(code)))" }
    }

    /// The folder of the built executables: beside the test bundle, or $FU_BIN.
    /// Every fu tool that was built (fu-* executables beside the test binary).
    static func toolNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: binaries.path)
            .filter { $0.hasPrefix("fu-") && !$0.contains(".") && FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent($0).path) }
            .sorted()
    }

    static let binaries: URL = {
        if let explicit = ProcessInfo.processInfo.environment["FU_BIN"] { return URL(fileURLWithPath: explicit) }
        var candidate = Bundle.main.bundleURL
        for _ in 0..<4 {
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("fu-featurize").path) { return candidate }
            candidate = candidate.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent()
    }()

    static func binary(_ tool: String) throws -> URL {
        let url = binaries.appendingPathComponent(tool)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw BinaryMissing(path: url.path)
        }
        return url
    }

    struct BinaryMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is not built: run `swift build` before `swift test`" }
    }
}

/// glibc's posix_spawn extensions (2.29, 2.34), which Swift's Glibc module does not
/// export: looked up by name once.
enum GlibcSpawn {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static let closeFrom = unsafeBitCast(symbol("posix_spawn_file_actions_addclosefrom_np"), to: CloseFrom.self)
    static let changeDirectory = unsafeBitCast(symbol("posix_spawn_file_actions_addchdir_np"), to: ChangeDirectory.self)

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer {
        guard let address = dlsym(nil, name) else { fatalError("glibc has no \(name) (needs glibc 2.34)") }
        return address
    }
}

/// Parses CSV text written by the tools (no quoted fields) into rows of fields.
func csvRows(_ text: String) -> [[String]] {
    text.split(separator: "\n", omittingEmptySubsequences: true).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
}

/// Polls `condition` every 10 ms until it holds (true) or `seconds` pass (false): a test
/// waits for what it needs, not for a time it guessed.
func waitUntil(seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let stopAt = Date().addingTimeInterval(seconds)
    while true {
        if try condition() { return true }
        if Date() > stopAt { return false }
        Thread.sleep(forTimeInterval: 0.01)
    }
}
