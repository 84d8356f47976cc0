#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--test-size`: a fraction of the users, or a number of users.
public enum TestSize: Sendable, Equatable {
    case fraction(Double)
    case count(Int)

    public init(parsing text: String) throws {
        if let count = Int(text), count >= 1 {
            self = .count(count)
        } else if let fraction = Double(text), fraction > 0, fraction < 1 {
            self = .fraction(fraction)
        } else {
            throw ToolError.usage("--test-size must be a fraction in (0, 1) or a whole number of users, not '\(text)'")
        }
    }

    func users(of total: Int) throws -> Int {
        switch self {
        case .fraction(let fraction):
            let count = Int((fraction * Double(total)).rounded(.up))
            guard count < total || total == 0 else {  // a header-only input gives header-only sides
                throw ToolError.usage("--test-size \(fraction) of \(total) users leaves none for training: give a smaller fraction")
            }
            return count
        case .count(let count):
            guard count < total else {
                throw ToolError.usage("--test-size \(count) is not smaller than the \(total) users in the input")
            }
            return count
        }
    }
}

public struct SplitOptions: Sendable {
    public var testSize: TestSize
    public var seed: UInt64 = 42
    /// Stream: a user is in the test side when its stable hash says so (no stratification).
    public var byHash = false
    /// Leave Fake out of the test side.
    public var dropLabel = false

    public init(testSize: TestSize) {
        self.testSize = testSize
    }
}

public struct SplitSummary: Sendable, Equatable {
    public var trainUsers = 0
    public var testUsers = 0
    public var skippedRows = 0
}

/// Where fu-split writes: the train side, the test side, and optionally the test users'
/// ground truth (`UserId,Fake`).
public struct SplitOutputs {
    public var train: ByteOutput
    public var test: ByteOutput
    public var truth: ByteOutput?
    public var format: TableFormat

    public init(train: ByteOutput, test: ByteOutput, truth: ByteOutput?, format: TableFormat) {
        self.train = train
        self.test = test
        self.truth = truth
        self.format = format
    }
}

/// Splits any table keyed by UserId (features, or events with many rows a user) by user:
/// all rows of a user land on one side, row order kept. Stratified by Fake unless
/// `byHash`; the stratified split reads the input twice (stdin is spooled to a temporary
/// file), so memory grows with users, not rows.
public struct Splitter {
    public var options: SplitOptions
    public var skipBadRows = false
    /// Shown while each pass reads (a terminal only).
    public var progress: Progress?

    public init(options: SplitOptions) {
        self.options = options
    }

    public func run(inputPath: String?, outputs: SplitOutputs) throws -> SplitSummary {
        if options.byHash {
            let reader = try TableReader(ByteInput(path: inputPath), skipBadRows: skipBadRows)
            reader.progress = progress
            return try splitByHash(reader, outputs)
        }
        let spool = try Spool(inputPath)
        defer { spool.remove() }
        // Pass 1: the users and their labels.
        let first = try TableReader(ByteInput(path: spool.path, name: spool.name), skipBadRows: skipBadRows)
        first.progress = progress
        let users = UserIndex()
        var labels: [UInt8] = []
        var keys = try UserRowKeys(first, needsLabel: true)
        while let (row, id, label) = try keys.next() {
            let user = users.findOrInsert(id, hash: stableHash(id))
            if user == labels.count {
                labels.append(label!)
            } else if labels[user] != label! {
                throw first.labelConflict(userID: id, previous: labels[user], label: label!, line: row.line)
            }
        }
        let byID = users.sortedByID()
        let testCount = try options.testSize.users(of: users.count)
        let sortedIsTest = stratifiedTestRows(labels: byID.map { labels[$0] }, testCount: testCount, seed: options.seed)
        var isTest = [Bool](repeating: false, count: users.count)
        for (position, user) in byID.enumerated() { isTest[user] = sortedIsTest[position] }
        // Pass 2: route the rows.
        let second = try TableReader(ByteInput(path: spool.path, name: spool.name), skipBadRows: skipBadRows)
        second.progress = progress
        var routes = try UserRowKeys(second, needsLabel: true)
        let sides = try SplitWriters(header: second.header, outputs: outputs, dropLabel: options.dropLabel)
        while let (row, id, _) = try routes.next() {
            let user = users.findOrInsert(id, hash: stableHash(id))
            try sides.write(row, test: isTest[user])
        }
        if let truth = outputs.truth {
            let writer = try TableWriter(truth, format: outputs.format, columns: ["UserId", "Fake"])
            for user in byID where isTest[user] {
                try writer.field(bytes: users.id(user))
                try writer.field(Int(labels[user]))
                try writer.endRow()
            }
        }
        return SplitSummary(trainUsers: users.count - testCount, testUsers: testCount, skippedRows: first.skippedRows)
    }

    /// One pass: a user is on the test side when (FNV-1a 64 of its UserId) mod 10⁶ falls
    /// below the fraction; the same answer for a user whatever else the file holds.
    private func splitByHash(_ reader: TableReader, _ outputs: SplitOutputs) throws -> SplitSummary {
        guard case .fraction(let fraction) = options.testSize else {
            throw ToolError.usage("--by-hash needs --test-size as a fraction")
        }
        let cut = UInt64((fraction * 1_000_000).rounded())
        var keys = try UserRowKeys(reader, needsLabel: outputs.truth != nil || options.dropLabel)
        let sides = try SplitWriters(header: reader.header, outputs: outputs, dropLabel: options.dropLabel)
        let users = UserIndex()
        let testUsers = UserIndex()
        var testLabels: [UInt8] = []
        while let (row, id, label) = try keys.next() {
            let hash = stableHash(id)
            _ = users.findOrInsert(id, hash: hash)
            let test = hash % 1_000_000 < cut
            if test && outputs.truth != nil {
                let user = testUsers.findOrInsert(id, hash: hash)
                if user == testLabels.count { testLabels.append(label!) }
            }
            try sides.write(row, test: test)
        }
        if let truth = outputs.truth {
            let writer = try TableWriter(truth, format: outputs.format, columns: ["UserId", "Fake"])
            for user in testUsers.sortedByID() {
                try writer.field(bytes: testUsers.id(user))
                try writer.field(Int(testLabels[user]))
                try writer.endRow()
            }
        }
        return SplitSummary(trainUsers: users.count - testLabels.count, testUsers: testLabels.count, skippedRows: reader.skippedRows)
    }
}

/// Reads rows with their UserId (and Fake) checked, the same way in every pass.
private struct UserRowKeys {
    let reader: TableReader
    let idColumn: Int
    let labelColumn: Int?

    init(_ reader: TableReader, needsLabel: Bool) throws {
        self.reader = reader
        idColumn = try reader.requireColumn("UserId")
        labelColumn = try reader.labelColumn()
        if needsLabel && labelColumn == nil {
            throw ToolError.data(
                "missing required column 'Fake': a stratified split needs labels; without them split with --by-hash",
                at: reader.location(line: 1))
        }
    }

    mutating func next() throws -> (Row, UnsafeBufferPointer<UInt8>, UInt8?)? {
        while let row = try reader.next() {
            let id = row.field(idColumn)
            if id.isEmpty {
                try reader.reject("empty UserId", line: row.line)
                continue
            }
            guard let labelColumn else { return (row, id, nil) }
            guard let label = try reader.label(row, column: labelColumn) else { continue }
            return (row, id, label)
        }
        return nil
    }
}

/// The train and test writers, with the input's columns (less Fake on a label-free test side).
private struct SplitWriters {
    let train: TableWriter
    let test: TableWriter
    let testColumns: [Int]

    init(header: [String], outputs: SplitOutputs, dropLabel: Bool) throws {
        train = try TableWriter(outputs.train, format: outputs.format, columns: header)
        testColumns = header.indices.filter { !(dropLabel && header[$0] == "Fake") }
        test = try TableWriter(outputs.test, format: outputs.format, columns: testColumns.map { header[$0] })
    }

    func write(_ row: Row, test isTest: Bool) throws {
        if isTest {
            for column in testColumns { try test.field(value: row.field(column)) }
            try test.endRow()
        } else {
            for column in 0..<row.count { try train.field(value: row.field(column)) }
            try train.endRow()
        }
    }
}

/// The input as a re-readable file: the file itself, or stdin (or a pipe such as
/// `<(cat f.csv)`, which cannot be read twice) copied to a temporary file.
private struct Spool {
    let path: String
    let temporary: Bool
    /// What errors call it: the file, or "stdin" (not the temporary copy).
    let name: String

    init(_ inputPath: String?) throws {
        let source = inputPath == "-" ? nil : inputPath
        if let inputPath = source, !ByteOutput.isSpecialFile(inputPath) {
            _ = try ByteInput(path: inputPath)  // a missing file fails here, as "missing input"
            path = inputPath
            name = inputPath
            temporary = false
            return
        }
        let folder = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(folder)/fu-split-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw ToolError.io("cannot create a temporary file in \(folder): \(FileDescriptor.errnoText())") }
        path = String(cString: template)
        name = source ?? "stdin"
        temporary = true
        TemporaryFiles.remember(path)
        let input: ByteInput
        do { input = try ByteInput(path: source) } catch {
            unlink(path)
            TemporaryFiles.forget(path)
            throw error
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        // The reader's record limit, applied while copying: stdin without line breaks
        // (/dev/zero) fails here instead of filling $TMPDIR.
        var lineLength = 0
        var line = 1
        let file = name  // /dev/zero or /dev/fd/63 is named as given, not as stdin
        do {
            while true {
                let n = try chunk.withUnsafeMutableBytes { try input.read(into: $0.baseAddress!, count: $0.count) }
                if n == 0 { break }
                try chunk.withUnsafeBytes { bytes in
                    let limit = TableReader.defaultMaxRecordBytes
                    var p = 0
                    while true {
                        let newline = memchr(bytes.baseAddress! + p, 0x0A, n - p).map { bytes.baseAddress!.distance(to: UnsafeRawPointer($0)) }
                        lineLength += (newline ?? n) - p
                        if lineLength >= limit { throw TableReader.recordTooLong(limit, at: InputLocation(file: file, line: line)) }
                        guard let newline else { break }
                        line += 1
                        lineLength = 0
                        p = newline + 1
                    }
                }
                try chunk.withUnsafeBytes { try FileDescriptor.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n]), name: path) }
            }
        } catch {
            close(fd)
            remove()
            throw error
        }
        close(fd)
    }

    func remove() {
        if temporary {
            unlink(path)
            TemporaryFiles.forget(path)
        }
    }
}
