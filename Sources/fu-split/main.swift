import ArgumentParser
import FakeUserKit
import Logging

struct Split: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-split",
        abstract: "Split a table keyed by UserId (features or events) into train (stdout) and test (--test) by user.",
        discussion: """
            Stratified by Fake at user level; all rows of a user land on one side, row order \
            kept. --by-hash streams instead: a user is in the test side when its FNV-1a 64 hash \
            says so, the same answer whatever else is in the file.

            Examples:
              fu-split --test-size 0.2 --seed 42 --test test.csv features.csv > train.csv
              fu-split --test test-events.csv --drop-label --truth truth.csv \\
                events.csv > train-events.csv
              fu-split --by-hash --test-size 0.1 --test holdout.csv.zst \\
                -o rest.csv.zst events.csv.zst
            """,
        version: fuVersion)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var formatOption: FormatOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: ArgumentHelp("Test side: a fraction of the users in (0, 1), or a number of users.", valueName: "x|n"))
    var testSize = "0.2"

    @Option(help: "Seed of the stratified assignment.")
    var seed: UInt64 = 42

    @Option(help: ArgumentHelp("Where the test rows go (written atomically).", valueName: "file"), completion: .file())
    var test: String

    @Flag(help: "Write the test side without the Fake column.")
    var dropLabel = false

    @Option(help: ArgumentHelp("Also write the test users' ground truth, UserId,Fake, sorted by UserId.", valueName: "file"), completion: .file())
    var truth: String?

    @Flag(help: "Split by a stable hash of UserId in one streaming pass (not stratified).")
    var byHash = false

    func validate() throws {
        do {
            let size = try TestSize(parsing: testSize)
            if byHash, case .count = size { throw ValidationError("--by-hash needs --test-size as a fraction") }
        } catch let error as ToolError {
            throw ValidationError(error.message)
        }
    }

    func execute(logger: Logger) throws {
        try inputOptions.requireInput()
        var options = SplitOptions(testSize: try TestSize(parsing: testSize))
        options.seed = seed
        options.byHash = byHash
        options.dropLabel = dropLabel
        var splitter = Splitter(options: options)
        splitter.skipBadRows = inputOptions.skipBadRows
        splitter.progress = Progress.forTerminal(tool: "fu-split")
        defer { splitter.progress?.finish() }  // on an error
        let outputs = SplitOutputs(
            train: try outputOptions.openOutput(), test: try outputOptions.open(test),
            truth: try truth.map { try outputOptions.open($0) }, format: formatOption.format)
        let summary = try splitter.run(inputPath: inputOptions.path, outputs: outputs)
        // Together, and only now: a failed run leaves the previous files as they were.
        try ByteOutput.commit([outputs.test, outputs.truth, outputs.train])
        logger.reportSkipped(summary.skippedRows, input: inputOptions.path ?? "stdin")
        logger.info("split", metadata: ["train_users": "\(summary.trainUsers)", "test_users": "\(summary.testUsers)"])
        let how = byHash ? "by UserId hash" : "stratified by Fake, seed \(seed)"
        splitter.progress?.finish("\(groupedDigits(summary.trainUsers + summary.testUsers)) users")  // the totals line before the summary
        summarizeOnTerminal(tool: "fu-split", [
            "\(groupedDigits(summary.trainUsers + summary.testUsers)) users: \(groupedDigits(summary.trainUsers)) train, \(groupedDigits(summary.testUsers)) test (\(how))",
        ])
    }
}

ToolMain.run(Split.self)
