#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Progress on stderr, redrawn in place, only when stderr is a terminal: rows, throughput,
/// and the percentage and ETA when the input's size is known. `finish` leaves one line of
/// totals; an error printed meanwhile starts on a fresh line (`Progress.endLine()`).
public final class Progress: @unchecked Sendable {
    private let tool: String
    private let pace: Pace
    private let clock: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let started: Double
    private var lastDraw = 0.0
    private var lastRows = 0

    /// Whether a progress line is on the screen without its line feed.
    private static let lineOpen = Atomic<Bool>(false)
    /// Whether `step` drew anything (then `finish` leaves a line of totals).
    private let drewStep = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    /// The phase `step` last drew, when it began and when it was drawn; steps may come
    /// from several threads (cross-validation folds).
    private let stepState = Mutex<(what: String, began: Double, drawn: Double)>(("", 0, 0))

    /// nil when stderr is not a terminal: callers then skip progress entirely.
    public static func forTerminal(tool: String) -> Progress? {
        guard isatty(2) != 0 else { return nil }
        TemporaryFiles.watchSignals()
        return Progress(tool: tool, pace: Pace(delay: getenv("FU_PROGRESS_DELAY").flatMap { Double(String(cString: $0)) }))
    }

    /// How long before the first line, and between redraws (half that). FU_PROGRESS_DELAY
    /// sets it (0: every update is drawn), so that a test sees progress however fast the build.
    struct Pace {
        var delay = 0.5
        var redraw: Double { delay / 2 }

        init(delay: Double? = nil) {
            if let delay, delay >= 0, delay.isFinite { self.delay = delay }
        }
    }

    /// For the signal handler (an atomic load is safe there).
    static var lineIsOpen: Bool { lineOpen.load(ordering: .relaxed) }

    init(tool: String, pace: Pace = Pace(), clock: @escaping @Sendable () -> Double = monotonicSeconds,
         write: @escaping @Sendable (String) -> Void = writeToStandardError) {
        self.tool = tool
        self.pace = pace
        self.clock = clock
        self.write = write
        started = clock()
    }

    @inline(__always)
    public func tick(rows: Int, bytes: Int, fraction: @autoclosure () -> Double?) {
        guard rows - lastRows >= 1 << 16 else { return }  // the clock is read every 65,536 rows at most
        lastRows = rows
        let now = clock()
        guard now - lastDraw >= pace.redraw else { return }
        lastDraw = now
        let elapsed = max(now - started, 1e-9)
        var line = "\r\(tool): \(groupedDigits(rows)) rows, \(Int(Double(bytes) / 1e6)) MB, \(Int(Double(bytes) / 1e6 / elapsed)) MB/s"
        if let fraction = fraction(), fraction > 0 {
            let remaining = elapsed / fraction - elapsed
            line += ", \(Int(fraction * 100))%, ETA \(Int(remaining.rounded(.up))) s"
        }
        write(line + "\u{1B}[K")
        Self.lineOpen.store(true, ordering: .relaxed)
    }

    /// Progress of a phase with a known number of steps (users made, folds fitted):
    /// `TOOL: WHAT done of total, P%, ETA s`, the ETA from this phase's pace. Drawn from
    /// half a second after the tool started, at most four times a second, and always at
    /// the last step once drawn (see `Pace`); safe from several threads.
    public func step(_ what: String, done: Int, of total: Int) {
        let now = clock()
        stepState.withLock { state in
            if state.what != what { state = (what, now, 0) }
            let last = done >= total && state.drawn > 0
            guard now - started >= pace.delay, now - state.drawn >= pace.redraw || last else { return }
            state.drawn = now
            let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 0
            var line = "\r\(tool): \(what) \(groupedDigits(done)) of \(groupedDigits(total)), \(Int(fraction * 100))%"
            if fraction > 0 && fraction < 1 {
                let elapsed = now - state.began
                line += ", ETA \(Int((elapsed / fraction - elapsed).rounded(.up))) s"
            }
            // Written under the lock, so that lines from two threads keep their order.
            write(line + "\u{1B}[K")
            Self.lineOpen.store(true, ordering: .relaxed)
            drewStep.store(true, ordering: .relaxed)
        }
    }

    /// Replaces the progress line with a line of totals that stays, when the work took long
    /// enough to have shown progress. Only the first call writes (a tool may finish before
    /// its summary and again in a `defer`).
    public func finish(_ summary: String? = nil) {
        guard !finished.exchange(true, ordering: .relaxed) else { return }
        let elapsed = clock() - started
        guard lastDraw > 0 || drewStep.load(ordering: .relaxed) || (summary != nil && elapsed >= 1) else { return }
        let text = summary.map { "\(tool): \($0) in \(seconds(elapsed))" } ?? "\(tool): \(groupedDigits(lastRows))+ rows in \(seconds(elapsed))"
        write("\r\(text)\u{1B}[K\n")
        Self.lineOpen.store(false, ordering: .relaxed)
    }

    /// Ends an open progress line, so that what is written next starts on a fresh one.
    public static func endLine() {
        if lineOpen.exchange(false, ordering: .relaxed) { writeToStandardError("\n") }
    }
}

private func seconds(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) s"
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
    Progress.endLine()
    writeToStandardError(lines.map { "\(tool): \(LogText.escaped($0))\n" }.joined())
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

/// A threshold for a summary line: four significant digits at most (`0.7127`, `0.5`); the
/// model file has every digit.
public func briefNumber(_ value: Double) -> String {
    guard value.isFinite, value != 0 else { return shortest(value) }
    let scale = pow(10, 3 - floor(log10(abs(value))))
    return shortest((value * scale).rounded() / scale)
}

/// A score with three decimals (`0.912`), or `n/a`.
public func threeDecimals(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "n/a" }
    return fixedDecimals(value, 3)
}

/// `0.0123`: a finite number with `places` decimals (at most 9), rounded half away from zero.
public func fixedDecimals(_ value: Double, _ places: Int) -> String {
    var unit = 1
    for _ in 0..<places { unit *= 10 }
    let scaled = Int((abs(value) * Double(unit)).rounded())
    let fraction = String(scaled % unit)
    return (value < 0 && scaled > 0 ? "-" : "") + "\(scaled / unit)." + String(repeating: "0", count: places - fraction.count) + fraction
}

/// Counts the finished steps of one phase (models fitted, folds done) from any thread and
/// shows them on a terminal's progress line, if there is one.
public final class StepCounter: Sendable {
    private let progress: Progress?
    private let what: String
    private let total: Int
    private let done = Atomic<Int>(0)

    public init(_ progress: Progress?, _ what: String, total: Int) {
        self.progress = progress
        self.what = what
        self.total = total
        progress?.step(what, done: 0, of: total)  // the phase, and its pace, start now
    }

    public func advance() {
        let count = done.add(1, ordering: .relaxed).newValue
        progress?.step(what, done: count, of: total)
    }
}
