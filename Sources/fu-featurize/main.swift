import ArgumentParser
import FakeUserKit
import Logging

struct Featurize: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-featurize",
        abstract: "Turn events (UserId,Event,Category[,Fake]) into one feature row per user, sorted by UserId.",
        discussion: """
            Reads CSV or JSON Lines, plain or zstd, from stdin or -i. Writes UserId, Fake (when \
            the input has it) and the feature columns documented in docs/reference.md.

            Examples:
              fu-featurize events.csv.zst > features.csv
              fu-featurize --shard 0/4 events.csv.zst -o features-0.csv.zst
              (head -1 events.csv; tail -n +2 events.csv | LC_ALL=C sort -t, -k1,1) \\
                | fu-featurize --sorted > sorted-features.csv
            """,
        version: fuVersion)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var formatOption: FormatOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: ArgumentHelp("Per-type columns for exactly these event types, in this order (comma-separated).", valueName: "a,b,c"))
    var events: String?

    @Option(help: ArgumentHelp("Keep only users whose FNV-1a 64 hash of UserId mod n is i.", valueName: "i/n"))
    var shard: String?

    @Flag(help: "Input is sorted by UserId: stream in constant memory (fails if UserIds go backwards).")
    var sorted = false

    func validate() throws {
        if let shard {
            do { _ = try Shard(parsing: shard) } catch let error as ToolError { throw ValidationError(error.message) }
        }
        if let events, parseEvents(events).isEmpty {
            throw ValidationError("--events needs at least one event type")
        }
    }

    private func parseEvents(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
    }

    func execute(logger: Logger) throws {
        let options = FeaturizeOptions(
            events: events.map(parseEvents), shard: try shard.map { try Shard(parsing: $0) }, sorted: sorted)
        // Unsorted input is parsed and counted on two threads: the input is read on the first.
        let reader = try inputOptions.openTable(readAhead: sorted)
        let output = try outputOptions.openOutput()
        let summary = try Featurizer(options: options, progress: Progress.forTerminal(tool: "fu-featurize"))
            .run(reader: reader, output: output, format: formatOption.format)
        try output.commit()
        logger.reportSkipped(summary.skippedRows, input: reader.name)
        logger.info("featurized", metadata: ["rows": "\(summary.rows)", "users": "\(summary.users)"])
    }
}

ToolMain.run(Featurize.self)
