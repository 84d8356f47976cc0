import ArgumentParser
import FakeUserKit
import Logging

struct Synth: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-synth",
        abstract: "Write synthetic events (UserId,Event,Category,Fake) with the real data's shape.",
        discussion: """
            The same --seed gives byte-identical output on every machine.

            Examples:
              fu-synth --users 5000 --seed 7 -o events.csv.zst
              fu-synth --users 100 --format jsonl > events.jsonl
            """,
        version: fuVersion)

    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var formatOption: FormatOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: "Number of users.")
    var users = 5000

    @Option(help: "Seed of the random generator.")
    var seed: UInt64 = 7

    @Option(help: "Share of fake users.")
    var fakeRate = 0.056

    @Flag(help: "Leave out the Fake column.")
    var noLabel = false

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        guard users <= 1 << 40 / 2 else { throw ValidationError("--users is too large") }
        // All events are held to be shuffled: checked now, not by an abort mid-way.
        let memory = allocatableBytes()
        guard users <= SynthOptions.maxUsers(memory: memory) else {
            throw ValidationError(
                "--users \(users) needs about \(users / (1 << 30 / SynthOptions.bytesPerUser) + 1) GiB of memory, more than the \(memory >> 30) GiB this process may use (at most \(groupedDigits(SynthOptions.maxUsers(memory: memory))) users)")
        }
        guard (0...1).contains(fakeRate) else { throw ValidationError("--fake-rate must be between 0 and 1") }
    }

    func execute(logger: Logger) throws {
        var options = SynthOptions()
        options.users = users
        options.seed = seed
        options.fakeRate = fakeRate
        options.label = !noLabel
        options.format = formatOption.format
        let output = try outputOptions.openOutput()
        let progress = Progress.forTerminal(tool: "fu-synth")
        var totals: String?
        defer { progress?.finish(totals) }
        let events = try Synthesizer(options: options).write(to: output, progress: progress)
        try output.commit()
        totals = "\(groupedDigits(events)) events, \(groupedDigits(users)) users"
        logger.info("synthesized", metadata: ["users": "\(users)", "events": "\(events)"])
    }
}

ToolMain.run(Synth.self)
