import ArgumentParser

/// Where a tool reads from.
public struct InputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Input file, plain or zstd; '-' or none reads stdin.", valueName: "file"))
    public var input: String?

    @Flag(help: "Skip malformed rows, count them and report the count on stderr.")
    public var skipBadRows = false

    public init() {}

    public func openTable() throws -> TableReader {
        try TableReader(ByteInput(path: input), skipBadRows: skipBadRows)
    }
}

/// Where a tool writes to.
public struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Output file, written atomically; '-' or none writes stdout. A .zst name compresses.", valueName: "file"))
    public var output: String?

    @Flag(help: "Compress the output with zstd.")
    public var zstd = false

    @Option(help: ArgumentHelp("zstd compression level (1-19).", valueName: "n"))
    public var zstdLevel: Int32 = 3

    @Option(help: "Output table format: csv or jsonl.")
    public var format: TableFormat = .csv

    public init() {}

    public func validate() throws {
        guard (1...19).contains(zstdLevel) else {
            throw ValidationError("--zstd-level must be between 1 and 19")
        }
    }

    public func openOutput() throws -> ByteOutput {
        try ByteOutput(path: output, compress: zstd ? true : nil, level: zstdLevel)
    }
}

/// How much a tool says, and where besides stderr.
public struct LoggingOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "More log detail on stderr (-v info, -vv debug).")
    public var verbose: Int

    @Flag(name: .shortAndLong, help: "Only errors on stderr.")
    public var quiet = false

    @Option(help: ArgumentHelp("Also append all records to DIR/all.log and errors to DIR/error.log (or FU_LOG_DIR).", valueName: "dir"))
    public var logDir: String?

    public init() {}
}

extension TableFormat: ExpressibleByArgument {}
