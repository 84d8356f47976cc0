import CZstd
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `fu-partition` is asked to do.
public struct PartitionOptions: Sendable {
    /// N: a user goes to bucket `stableHash(UserId) % N`, as `fu-featurize --shard i/N` keeps.
    public var buckets: Int
    public var directory: String
    public var compress: Bool
    public var level: Int32
    public var skipBadRows: Bool

    public init(buckets: Int, directory: String, compress: Bool = true, level: Int32 = 3, skipBadRows: Bool = false) {
        self.buckets = buckets
        self.directory = directory
        self.compress = compress
        self.level = level
        self.skipBadRows = skipBadRows
    }

    /// Each bucket holds an output buffer and a zstd encoder (about 3 MB); the limit keeps
    /// that, and the open files, bounded.
    public static let maxBuckets = 256

    /// What the buckets' encoders may take together. An encoder at level 19 takes about
    /// 80 MB: 256 of them would need 21 GB.
    public static let encoderMemoryBudget = 1 << 30

    /// The level asked for, or the highest lower one whose encoders fit the budget
    /// together (each with its 256 KiB output buffer).
    public var effectiveLevel: Int32 {
        guard compress else { return level }
        var candidate = level
        while candidate > 1 && buckets * PartitionOptions.bucketMemory(level: candidate) > PartitionOptions.encoderMemoryBudget {
            candidate -= 1
        }
        return candidate
    }

    /// One bucket's encoder and buffer at `level`, as libzstd estimates it.
    static func bucketMemory(level: Int32) -> Int {
        ZSTD_estimateCStreamSize(level) + (1 << 18)
    }

    /// `bucket-00002-of-00004.csv.zst`: names sort in bucket order, and say how many there are.
    public static func bucketName(_ index: Int, of count: Int, compressed: Bool) -> String {
        "bucket-\(zeroPadded(index))-of-\(zeroPadded(count)).csv" + (compressed ? ".zst" : "")
    }

    private static func zeroPadded(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}

public struct PartitionSummary: Sendable, Equatable {
    public var rows = 0
    public var skippedRows = 0
    /// Rows written to each bucket.
    public var bucketRows: [Int] = []
    /// The bucket files, in bucket order.
    public var files: [String] = []
}

/// Splits event rows into N bucket files by the user hash of `fu-featurize --shard`, in
/// one pass, copying the UserId, Event, Category (and Fake) fields; no featurizing. The
/// rows are checked as fu-featurize checks them (the same reader and row parser), so a
/// bad row fails (or is skipped) here, naming the input's line, and every bucket can be
/// featurized alone: partition → featurize each bucket → fu-merge is the one-process table.
public struct Partitioner {
    public var options: PartitionOptions
    public var progress: Progress?

    public init(options: PartitionOptions, progress: Progress? = nil) {
        self.options = options
        self.progress = progress
    }

    /// Reads `inputs` (paths, "-" for stdin) in order; all bucket files commit together
    /// only when every input was read.
    public func run(inputs: [String]) throws -> PartitionSummary {
        guard (1...PartitionOptions.maxBuckets).contains(options.buckets) else {
            throw ToolError.usage("--buckets must be between 1 and \(PartitionOptions.maxBuckets)")
        }
        var summary = PartitionSummary(bucketRows: Array(repeating: 0, count: options.buckets))
        var first: EventRowParser?
        var writers: [TableWriter] = []
        let createdDirectory = try makeDirectory(options.directory)
        // Parsing on this thread, zstd for all buckets on another (and decoding the input on a third).
        let compressor = options.compress ? CompressionThread() : nil
        defer { compressor?.stop() }
        do {
            for path in inputs {
                let reader = try TableReader(ByteInput(path: path), skipBadRows: options.skipBadRows)
                var parser = try EventRowParser(reader: reader, events: [])
                if let first {
                    if first.hasLabel != parser.hasLabel {
                        let (with, without) = first.hasLabel ? (first.reader.name, reader.name) : (reader.name, first.reader.name)
                        throw ToolError.data(
                            "\(with) has a Fake column and \(without) has none; all inputs must agree",
                            at: reader.location(line: 1))
                    }
                    // Event types and categories are counted across inputs, for the limits.
                    parser.continueVocabularies(events: first.events, categories: first.categories)
                } else {
                    writers = try openBuckets(hasLabel: parser.hasLabel, compressor: compressor)
                    summary.files = writers.map(\.output.name)
                }
                try copyRows(&parser, to: writers, summary: &summary)
                summary.skippedRows += reader.skippedRows
                first = parser
            }
            try ByteOutput.commit(writers.map(\.output))
        } catch {
            for writer in writers { writer.output.abandon() }
            if createdDirectory { rmdir(options.directory) }
            throw error
        }
        progress?.finish()
        return summary
    }

    private func openBuckets(hasLabel: Bool, compressor: CompressionThread?) throws -> [TableWriter] {
        let columns = requiredEventColumns + (hasLabel ? ["Fake"] : [])
        let folder = options.directory.hasSuffix("/") ? options.directory : options.directory + "/"
        var writers: [TableWriter] = []
        do {
            for index in 0..<options.buckets {
                let name = PartitionOptions.bucketName(index, of: options.buckets, compressed: options.compress)
                let output = try ByteOutput(path: folder + name, compress: options.compress, level: options.effectiveLevel, compressor: compressor)
                writers.append(try TableWriter(output, format: .csv, columns: columns))
            }
        } catch {
            for writer in writers { writer.output.abandon() }
            throw error
        }
        return writers
    }

    private func copyRows(_ parser: inout EventRowParser, to writers: [TableWriter], summary: inout PartitionSummary) throws {
        let count = UInt64(writers.count)
        let hasLabel = parser.hasLabel
        while let row = try parser.next() {
            let bucket = Int(row.hash % count)
            let writer = writers[bucket]
            try writer.field(bytes: row.userID)
            try writer.field(bytes: row.eventName)
            try writer.field(bytes: row.categoryName)
            if hasLabel { try writer.field(Int(row.label)) }
            try writer.endRow()
            summary.bucketRows[bucket] += 1
            summary.rows += 1
            progress?.tick(rows: summary.rows, bytes: parser.reader.input.bytesRead, fraction: parser.reader.input.fractionRead)
        }
    }

    /// Creates the output folder when missing; says whether it did (a failed run removes it).
    private func makeDirectory(_ path: String) throws -> Bool {
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) != S_IFDIR { throw ToolError.io("cannot write to \(path): not a directory") }
            return false
        }
        if mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw ToolError.io("cannot create directory \(path): \(FileDescriptor.errnoText())")
        }
        return true
    }
}
