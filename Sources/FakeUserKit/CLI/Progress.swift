#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rows and throughput on stderr, redrawn in place, only when stderr is a terminal.
public final class Progress {
    private let tool: String
    private let started = monotonicSeconds()
    private var lastDraw = 0.0
    private var lastRows = 0
    private var drawn = false

    /// nil when stderr is not a terminal: callers then skip progress entirely.
    public static func forTerminal(tool: String) -> Progress? {
        isatty(2) != 0 ? Progress(tool: tool) : nil
    }

    init(tool: String) {
        self.tool = tool
    }

    @inline(__always)
    public func tick(rows: Int, bytes: Int) {
        guard rows - lastRows >= 1 << 16 else { return }  // the clock is read every 65,536 rows at most
        lastRows = rows
        let now = monotonicSeconds()
        guard now - lastDraw >= 0.25 else { return }
        lastDraw = now
        let megabytes = Double(bytes) / 1e6
        let rate = megabytes / max(now - started, 1e-9)
        let line = "\r\(tool): \(rows) rows, \(Int(megabytes)) MB read, \(Int(rate)) MB/s "
        writeToStandardError(line)
        drawn = true
    }

    public func finish() {
        if drawn { writeToStandardError("\r\u{1B}[K") }
        drawn = false
    }
}

func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// A learning tool's one- or two-line account of what it did, for a person watching:
/// written to stderr only when stderr is a terminal, each line as `TOOL: line`.
public func summarizeOnTerminal(tool: String, _ lines: [String]) {
    guard isatty(2) != 0 else { return }
    writeToStandardError(lines.map { "\(tool): \($0)\n" }.joined())
}

/// `4,000`: thousands separated, for summaries.
public func groupedDigits(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return (value < 0 ? "-" : "") + out
}

/// A score with three decimals (`0.912`), or `n/a`.
public func threeDecimals(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "n/a" }
    let thousandths = Int((abs(value) * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return (value < 0 && thousandths > 0 ? "-" : "") + "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
