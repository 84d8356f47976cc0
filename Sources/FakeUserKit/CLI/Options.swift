import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a tool reads from: a file named by position (as xsv, jq and zstd take it) or by
/// `-i`, else stdin.
public struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Input file, plain or zstd; '-' or none reads stdin.", valueName: "file"), completion: .file())
    public var file: String?

    @Option(name: [.short, .long], help: ArgumentHelp("The input file, as a flag.", valueName: "file"), completion: .file())
    public var input: String?

    @Flag(help: "Skip malformed rows, count them and report the count on stderr.")
    public var skipBadRows = false

    public init() {}

    public func validate() throws {
        if file != nil && input != nil { throw ValidationError("give the input file once: FILE or -i FILE, not both") }
    }

    /// The input's path; nil for stdin.
    public var path: String? {
        let path = file ?? input
        return path == "-" ? nil : path
    }

    /// Fails as zstd does when there is nothing to read: stdin is a terminal and no file was named.
    public func requireInput() throws {
        if path == nil { try requireStandardInputNotTerminal() }
    }

    /// `readAhead`: as `ByteInput`'s (false for a tool whose own threads use every core).
    public func openTable(readAhead: Bool = true) throws -> TableReader {
        try requireInput()
        return try TableReader(ByteInput(path: path, readAhead: readAhead), skipBadRows: skipBadRows)
    }
}

/// Fails as zstd does when the input would be stdin and stdin is a terminal: a tool that
/// waited there would look hung.
public func requireStandardInputNotTerminal() throws {
    let tool = runningToolName
    if isatty(0) != 0 {
        throw ToolError.usage("no input: name a file (\(tool) FILE) or pipe one in (... | \(tool)); see '\(tool) --help'")
    }
}

/// The running tool's name as messages say it (`fu-fit`), from argv[0].
var runningToolName: String {
    String(CommandLine.arguments.first?.split(separator: "/").last ?? "fu")
}

/// Where a tool writes to.
public struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Output file, written atomically; '-' or none writes stdout. A .zst name compresses.", valueName: "file"), completion: .file())
    public var output: String?

    @Flag(help: "Compress the output with zstd.")
    public var zstd = false

    @Option(help: ArgumentHelp("zstd compression level (1-19).", valueName: "n"))
    public var zstdLevel: Int32 = 3

    public init() {}

    public func validate() throws {
        guard (1...19).contains(zstdLevel) else {
            throw ValidationError("--zstd-level must be between 1 and 19")
        }
    }

    public func openOutput() throws -> ByteOutput {
        try open(output)
    }

    /// Another output file of the same tool (e.g. `--test`, `--metrics`), compressed alike.
    public func open(_ path: String?) throws -> ByteOutput {
        try ByteOutput(path: path, compress: zstd ? true : nil, level: zstdLevel)
    }
}

/// The model a scoring or monitoring tool reads.
public struct ModelOption: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("The model file (from fu-fit).", valueName: "file"), completion: .file())
    public var model: String

    public init() {}

    public func load() throws -> Model { try Model.load(model) }
}

/// How a tool that writes a table writes it.
public struct FormatOption: ParsableArguments {
    @Option(help: "Output table format: csv or jsonl.")
    public var format: TableFormat = .csv

    public init() {}
}

/// The model a scoring tool reads and how it answers: fu-score and fu-watch.
public struct ScoringOptions: ParsableArguments {
    @OptionGroup public var source: ModelOption

    @Option(help: ArgumentHelp("Decision threshold instead of the model's.", valueName: "x"))
    public var threshold: Double?

    @Option(help: ArgumentHelp(
        "Add each user's K strongest contributions to the log-odds (feature, value, signed contribution) as a column 'reasons'.",
        valueName: "K"))
    public var explain: Int?

    public init() {}

    public func validate() throws {
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be between 0 and 1") }
        if let explain, explain < 1 { throw ValidationError("--explain must be at least 1, not \(explain)") }
    }

    /// The model, with `--explain` checked against its feature count (a usage error).
    public func loadModel() throws -> Model {
        let loaded = try source.load()
        if let explain {
            do { try Reasons.check(explain, featureCount: loaded.features.count) } catch let error as ToolError {
                throw ToolError.usage("--\(error.message)")
            }
        }
        return loaded
    }
}

/// A stream's per-user state: its bound and its file (fu-watch, and fu-serve's `/events`).
public struct StreamStateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Keep at most this many users' counters; past it the least recently active is forgotten.", valueName: "n"))
    public var maxUsers = WatchOptions.defaultMaxUsers

    @Option(help: ArgumentHelp(
        "Load the users' state from FILE when it exists; save it there atomically when the tool stops (SIGINT, SIGTERM; fu-watch also at the end of its input and on SIGHUP) and every --checkpoint-every events. fu-watch and fu-serve share the file.",
        valueName: "file"), completion: .file())
    public var state: String?

    @Option(help: ArgumentHelp("Also save the state every N events (needs --state).", valueName: "n"))
    public var checkpointEvery: Int?

    public init() {}

    public func validate() throws {
        guard maxUsers >= 1 else { throw ValidationError("--max-users must be at least 1") }
        if state == "-" { throw ValidationError("--state needs a file: '-' would mix the state into stdout") }
        if let checkpointEvery {
            guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1") }
            guard state != nil else { throw ValidationError("--checkpoint-every needs --state FILE") }
        }
    }
}

/// The model settings fu-fit and fu-cv share.
public struct LearningOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .long], help: ArgumentHelp("Inverse regularisation strength (scikit-learn's C).", valueName: "C"))
    public var cost: Double = 1

    @Option(help: "Class weights: balanced (n / (2 n_class)) or none.")
    public var classWeight: ClassWeighting = .balanced

    @Option(help: ArgumentHelp("Feature columns to use, in order (default: all but UserId and Fake).", valueName: "a,b,c"))
    public var features: String?

    public init() {}

    public func validate() throws {
        guard cost > 0 && cost.isFinite else { throw ValidationError("--cost must be a positive number") }
        if let features, featureNames?.isEmpty ?? true || features.isEmpty {
            throw ValidationError("--features needs at least one column name")
        }
    }

    public var featureNames: [String]? {
        features.map { $0.split(separator: ",").map(String.init).filter { !$0.isEmpty } }
    }

    public var trainer: Trainer { Trainer(cost: cost, weighting: classWeight) }
}

/// Stratified k-fold settings.
public struct FoldOptions: ParsableArguments {
    @Option(help: "Number of stratified folds.")
    public var folds = 5

    @Option(help: "Seed of the fold assignment.")
    public var seed: UInt64 = 42

    public init() {}

    public func validate() throws {
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2") }
    }
}

/// How much a tool says, and where besides stderr.
public struct LoggingOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "More log detail on stderr (-v info, -vv debug).")
    public var verbose: Int

    @Flag(name: .shortAndLong, help: "Only errors on stderr.")
    public var quiet = false

    @Option(help: ArgumentHelp("Also append all records to DIR/all.log and errors to DIR/error.log (or FU_LOG_DIR).", valueName: "dir"), completion: .directory)
    public var logDir: String?

    public init() {}
}

extension TableFormat: ExpressibleByArgument {}
extension ClassWeighting: ExpressibleByArgument {}
