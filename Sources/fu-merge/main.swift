import ArgumentParser
import FakeUserKit
import Logging

struct Merge: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-merge",
        abstract: "Merge tables sorted by UserId (byte order) into one sorted table.",
        discussion: """
            Reads CSV or JSON Lines, plain or zstd: the FILEs, or every regular file of a DIR \
            (sorted by name); '-' is stdin. Headers must match; feature tables of fu-featurize \
            that lack some per-event-type columns (a bucket without a rare type) get those \
            columns as 0, in the order one fu-featurize over all the events would write. An \
            input whose UserIds go backwards is an error naming its line.

            Examples:
              fu-merge -o features.csv features-0.csv.zst features-1.csv.zst
              fu-merge --format jsonl features/ > features.jsonl
            """,
        version: fuVersion)

    @Argument(help: ArgumentHelp("Tables sorted by UserId, or directories of them; none reads stdin.", valueName: "file"), completion: .file())
    var files: [String] = []

    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var formatOption: FormatOption
    @OptionGroup var logging: LoggingOptions

    func execute(logger: Logger) throws {
        let paths = try expandInputs(files)
        let output = try outputOptions.openOutput()
        let summary = try Merger(progress: Progress.forTerminal(tool: "fu-merge"))
            .run(inputs: paths, output: output, format: formatOption.format)
        try output.commit()
        logger.info("merged", metadata: ["rows": "\(summary.rows)", "inputs": "\(summary.inputs)"])
    }
}

ToolMain.run(Merge.self)
