import Synchronization
import Testing
@testable import FakeUserKit

/// Progress's timing on a clock the test moves, so that what is drawn does not depend on
/// how fast the build runs (the end-to-end test sets FU_PROGRESS_DELAY=0 instead).
@Suite struct ProgressTiming {
    /// A clock and a terminal: `now` is set by the test, `lines` what Progress wrote.
    final class Screen: Sendable {
        let time = Mutex(1000.0)
        let written = Mutex<[String]>([])
        var lines: [String] { written.withLock { $0 } }

        func progress(_ pace: Progress.Pace = .init()) -> Progress {
            Progress(tool: "fu-x", pace: pace, clock: { self.time.withLock { $0 } }, write: { text in self.written.withLock { $0.append(text) } })
        }

        func at(_ seconds: Double) { time.withLock { $0 = 1000 + seconds } }
    }

    @Test func stepsAreDrawnAfterTheDelayAtMostFourTimesASecondAndAlwaysAtTheEnd() {
        let screen = Screen()
        let progress = screen.progress()
        progress.step("users made", done: 0, of: 10)
        screen.at(0.4)
        progress.step("users made", done: 2, of: 10)
        #expect(screen.lines.isEmpty)  // before half a second: nothing
        screen.at(0.5)
        progress.step("users made", done: 5, of: 10)
        #expect(screen.lines == ["\rfu-x: users made 5 of 10, 50%, ETA 1 s\u{1B}[K"])
        screen.at(0.6)
        progress.step("users made", done: 6, of: 10)
        #expect(screen.lines.count == 1)  // within a quarter second of the last line
        progress.step("users made", done: 10, of: 10)
        #expect(screen.lines.last == "\rfu-x: users made 10 of 10, 100%\u{1B}[K")  // the last step always
        screen.at(1.25)
        progress.finish("10 users")
        #expect(screen.lines.last == "\rfu-x: 10 users in 1.3 s\u{1B}[K\n")
        #expect(screen.lines.count == 3)
    }

    @Test func quickWorkLeavesNothing() {
        let screen = Screen()
        let progress = screen.progress()
        progress.step("folds fitted", done: 0, of: 5)
        screen.at(0.3)
        progress.step("folds fitted", done: 5, of: 5)
        progress.finish("5 folds")
        #expect(screen.lines.isEmpty)
    }

    @Test func noDelayDrawsEveryStep() {
        let screen = Screen()
        let progress = screen.progress(Progress.Pace(delay: 0))
        for done in 0...3 { progress.step("folds fitted", done: done, of: 3) }
        progress.finish("3 folds")
        #expect(screen.lines.count == 5)
        #expect(screen.lines[1] == "\rfu-x: folds fitted 1 of 3, 33%, ETA 0 s\u{1B}[K")
        #expect(Progress.Pace(delay: -1).delay == 0.5 && Progress.Pace(delay: .nan).delay == 0.5)
    }
}

@Test func summaryThresholdsHaveFourSignificantDigitsAtMost() {
    #expect(briefNumber(0.7127385742938241) == "0.7127")
    #expect(briefNumber(0.5) == "0.5")
    #expect(briefNumber(0) == "0")
    #expect(briefNumber(0.000123456) == "0.0001235")
    #expect(briefNumber(1) == "1")
}
