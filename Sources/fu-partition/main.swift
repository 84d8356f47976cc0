import ArgumentParser
import FakeUserKit
import Logging

struct Partition: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-partition",
        abstract: "Split events into N bucket files by the user hash of fu-featurize --shard, in one pass.",
        discussion: """
            Reads events (CSV or JSON Lines, plain or zstd): the FILEs in order, every regular \
            file of a DIR (sorted by name), or stdin. Writes DIR/bucket-00000-of-0000N.csv.zst \
            and so on: UserId,Event,Category[,Fake] rows in input order, a user's rows all in \
            bucket FNV-1a-64(UserId) mod N. Every bucket has the header, even an empty one. The \
            buckets appear together, only when the whole input was read.

            Examples:
              fu-partition --buckets 4 --output-dir buckets data/events.csv.zst
              mkdir -p features
              for f in buckets/*; do fu-featurize -i $f -o features/${f#*/}; done
              fu-merge -o features.csv features/
            """,
        version: fuVersion)

    @Argument(help: ArgumentHelp("Event files, or directories of them; none or '-' reads stdin.", valueName: "file"), completion: .file())
    var files: [String] = []

    @Flag(help: "Skip malformed rows, count them and report the count on stderr.")
    var skipBadRows = false

    @Option(help: ArgumentHelp("Folder for the bucket files (created when missing).", valueName: "dir"), completion: .directory)
    var outputDir: String

    @Flag(inversion: .prefixedNo, help: "Compress the buckets with zstd (.csv.zst); --no-zstd writes .csv.")
    var zstd = true

    @Option(help: ArgumentHelp("zstd compression level (1-19).", valueName: "n"))
    var zstdLevel: Int32 = 3

    @OptionGroup var logging: LoggingOptions

    @Option(help: ArgumentHelp("Number of buckets (1-\(PartitionOptions.maxBuckets)).", valueName: "n"))
    var buckets: Int

    func validate() throws {
        guard (1...PartitionOptions.maxBuckets).contains(buckets) else {
            throw ValidationError("--buckets must be between 1 and \(PartitionOptions.maxBuckets)")
        }
        guard (1...19).contains(zstdLevel) else { throw ValidationError("--zstd-level must be between 1 and 19") }
        guard !outputDir.isEmpty else { throw ValidationError("--output-dir needs a folder") }
    }

    func execute(logger: Logger) throws {
        let options = PartitionOptions(
            buckets: buckets, directory: outputDir, compress: zstd, level: zstdLevel, skipBadRows: skipBadRows)
        if options.effectiveLevel != zstdLevel {
            logger.warning("--zstd-level \(zstdLevel) with \(buckets) buckets would need more than 1 GiB of encoders; using level \(options.effectiveLevel)")
        }
        let summary = try Partitioner(options: options, progress: Progress.forTerminal(tool: "fu-partition"))
            .run(inputs: try expandInputs(files))
        logger.reportSkipped(summary.skippedRows, input: files.isEmpty ? "stdin" : files.joined(separator: " "))
        logger.info("partitioned", metadata: [
            "rows": "\(summary.rows)", "buckets": "\(buckets)",
            "largest": "\(summary.bucketRows.max() ?? 0)", "smallest": "\(summary.bucketRows.min() ?? 0)",
        ])
    }
}

ToolMain.run(Partition.self)
