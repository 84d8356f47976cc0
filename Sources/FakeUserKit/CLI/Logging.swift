import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sets up swift-log once per process: stderr at the chosen level, plus `all.log` (every
/// record) and `error.log` (errors) when a log folder is given.
public enum LogSetup {
    /// The stderr level: -q, then -v, then FU_LOG_LEVEL, else the tool's default.
    public static func stderrLevel(
        _ options: LoggingOptions, environment: [String: String], defaultLevel: Logger.Level = .warning
    ) -> Logger.Level {
        if options.quiet { return .error }
        switch options.verbose {
        case 1: return .info
        case 2: return .debug
        case 3...: return .trace
        default: break
        }
        if let text = environment["FU_LOG_LEVEL"], let level = Logger.Level(rawValue: text.lowercased()) {
            return level
        }
        return defaultLevel
    }

    public static func bootstrap(
        tool: String, options: LoggingOptions, environment: [String: String], defaultLevel: Logger.Level = .warning
    ) throws -> Logger {
        let level = stderrLevel(options, environment: environment, defaultLevel: defaultLevel)
        var handlers: [any LogHandler] = [LineLogHandler(tool: tool, fd: 2, level: level, timestamps: false)]
        if let folder = options.logDir ?? environment["FU_LOG_DIR"], !folder.isEmpty {
            try makeDirectory(folder, what: "log folder")
            handlers.append(LineLogHandler(tool: tool, fd: try openLog("\(folder)/all.log"), level: .trace, timestamps: true))
            handlers.append(LineLogHandler(tool: tool, fd: try openLog("\(folder)/error.log"), level: .error, timestamps: true))
        }
        let chosen = handlers
        LoggingSystem.bootstrap { _ in MultiplexLogHandler(chosen) }
        // The multiplexer's level is its lowest handler's; each handler filters for itself.
        return Logger(label: tool)
    }

    private static func openLog(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o666)
        if fd < 0 { throw ToolError.io("cannot open log \(path): \(FileDescriptor.errnoText())") }
        return fd
    }
}

/// One line per record, written with a single write(2) (O_APPEND keeps lines whole when
/// several tools share a log file). stderr: `fu-TOOL: level: message`; files add a UTC
/// timestamp and the pid.
struct LineLogHandler: LogHandler {
    let tool: String
    let fd: Int32
    let timestamps: Bool
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(tool: String, fd: Int32, level: Logger.Level, timestamps: Bool) {
        self.tool = tool
        self.fd = fd
        self.logLevel = level
        self.timestamps = timestamps
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = timestamps ? "\(utcTimestamp()) \(tool)[\(getpid())] " : "\(tool): "
        // Messages quote data (a field's value, a file name): escaped, they stay one line.
        line += "\(event.level): \(LogText.escaped("\(event.message)"))"
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() { line += " \(LogText.escaped(key))=\(LogText.escaped("\(merged[key]!)"))" }
        line += "\n"
        if fd == 2 { Progress.endLine() }  // a message never lands on a progress line
        line.withUTF8 { bytes in
            _ = try? FileDescriptor.writeAll(fd, UnsafeRawBufferPointer(bytes), name: "log")
        }
    }

    private func utcTimestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        var text = [CChar](repeating: 0, count: 32)
        strftime(&text, text.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let millis = Int(now.tv_nsec / 1_000_000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + ".\(fraction)Z"
    }
}

/// Text for one log line: control characters (C0, DEL, C1) become escapes such as `\n` and
/// `\u{1B}`, so a value with a newline or a terminal sequence cannot forge a line or
/// clear the screen. Printable text, non-ASCII letters included, stays as it is.
public enum LogText {
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where isControl(scalar): result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
