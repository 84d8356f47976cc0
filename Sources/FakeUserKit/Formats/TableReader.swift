import CIntrinsics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a table, CSV (RFC 4180) or JSON Lines, chosen by the first non-blank byte.
/// Works on bytes in one growing buffer: rows are views into it (see `Row`), so memory
/// stays at the size of the longest record, whatever the input size.
public final class TableReader {
    public let input: ByteInput
    /// Called around each read of the input, which may wait: a stream scorer (fu-watch)
    /// flushes its answers before it, and lets a signal's checkpoint in meanwhile.
    public var readHooks: (before: () throws -> Void, after: () -> Void)?
    /// While set, a row that would need a read of the input throws `WouldRead` instead,
    /// leaving the reader at that row: fu-watch takes the rows already buffered as a block
    /// (and loads their users' memory together), but never waits for input with rows unanswered.
    var onlyBuffered = false
    struct WouldRead: Error {}
    public private(set) var header: [String] = []
    public private(set) var format: TableFormat = .csv
    /// Skip malformed rows (and count them) instead of failing.
    public let skipBadRows: Bool
    /// The longest record (a CSV row, a JSON line) read before failing with an error,
    /// rather than buffering a file without line breaks whole.
    public static let defaultMaxRecordBytes = 64 << 20
    public let maxRecordBytes: Int
    /// The most fields (columns) a record may have: each costs 16 bytes of bounds, so a
    /// record of commas would otherwise take 16 times its length in memory.
    public static let maxFields = 4096
    public private(set) var skippedRows = 0

    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes allocated past `capacity`: a field of a plain record taken in bulk may be read
    /// up to 16 bytes from its start, past the record's end (`EventBatch.append`,
    /// `Vocabulary.knownID(for:readable8:)`). Such a field starts in the first 63 bytes of a
    /// 64-byte window that ends within `end`, so those reads end within the slack.
    static let readableSlack = 16
    private var position = 0
    private var end = 0
    private var atEOF = false
    /// The 1-based line at `position`.
    private var line = 1

    private var bounds: UnsafeMutablePointer<Int>
    private var boundsCapacity = 64
    private var escapedFields: [Int] = []

    /// JSON Lines only: decoded values, header names as bytes, and the first object's line
    /// while that object waits to be returned as the first row.
    private var scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 12)
    private var scratchCapacity = 1 << 12
    private var scratchCount = 0
    private var headerBytes: [[UInt8]] = []
    private var heldFirstRow: Int?

    public var name: String { input.name }

    /// The first buffer is 256 KiB: zstd's copy out of its window into it, and the parse
    /// after, then stay in the core's cache (1 MiB did not: 10M events from .zst, −0.18 s
    /// and −0.17 CPU-s in paired runs; 128 and 512 KiB were slower).
    public convenience init(_ input: ByteInput, skipBadRows: Bool = false, maxRecordBytes: Int = TableReader.defaultMaxRecordBytes) throws {
        try self.init(input, skipBadRows: skipBadRows, maxRecordBytes: maxRecordBytes, bufferBytes: 1 << 18)
    }

    /// `bufferBytes`: the first buffer, which reads fill at most (a fuzz target makes rows
    /// arrive in pieces with a small one).
    init(_ input: ByteInput, skipBadRows: Bool, maxRecordBytes: Int, bufferBytes: Int) throws {
        self.input = input
        self.skipBadRows = skipBadRows
        self.maxRecordBytes = maxRecordBytes
        capacity = max(bufferBytes, 4)
        buffer = .allocate(capacity: capacity + TableReader.readableSlack)
        bounds = .allocate(capacity: boundsCapacity)
        try start()
    }

    deinit {
        buffer.deallocate()
        bounds.deallocate()
        scratch.deallocate()
    }

    public func location(line: Int? = nil) -> InputLocation {
        InputLocation(file: name, line: line)
    }

    /// The index of a column, or nil.
    public func column(_ name: String) -> Int? {
        header.firstIndex(of: name)
    }

    /// The index of a column the caller cannot do without.
    public func requireColumn(_ name: String) throws -> Int {
        guard let index = column(name) else {
            throw ToolError.data("missing required column '\(name)'\(missingColumnHint(name))", at: location(line: 1))
        }
        return index
    }

    /// Counts a bad row when skipping, or throws it.
    public func reject(_ message: String, line: Int) throws {
        if skipBadRows {
            skippedRows += 1
        } else {
            throw ToolError.data(message, at: location(line: line))
        }
    }

    // MARK: Buffer

    /// Moves the unparsed bytes to the front (growing when a record fills the buffer) and reads more.
    /// Returns false at the end of input. Positions into the buffer are stale afterwards.
    ///
    /// A caller rescans its unfinished record after each fill, so a fill reads at least as
    /// many new bytes as it kept (a pipe hands over 64 KiB a read): the rescans of one long
    /// record then add up to a few times its length, not its square.
    @discardableResult
    private func fill() throws -> Bool {
        if atEOF { return false }
        if onlyBuffered { throw WouldRead() }  // before anything moves: the row is scanned again
        if position > 0 {
            let kept = end - position
            if kept > 0 { buffer.update(from: buffer + position, count: kept) }
            end = kept
            position = 0
        }
        if end >= maxRecordBytes { throw TableReader.recordTooLong(maxRecordBytes, at: location(line: line)) }
        let kept = end
        let wanted = min(max(2 * kept, kept + 1), maxRecordBytes + 1)
        if wanted > capacity {
            var grown = capacity
            while grown < wanted { grown *= 2 }
            grown = min(grown, maxRecordBytes + 1)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown + TableReader.readableSlack)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity = grown
        }
        while end < wanted {
            try readHooks?.before()
            let n: Int
            do { n = try input.read(into: buffer + end, count: capacity - end) } catch {
                readHooks?.after()
                throw error
            }
            readHooks?.after()
            if n == 0 {
                atEOF = true
                return end > kept
            }
            end += n
        }
        return true
    }

    /// The error for a record past `maxRecordBytes` (also fu-split's, while it copies stdin).
    public static func recordTooLong(_ maxRecordBytes: Int, at location: InputLocation) -> ToolError {
        ToolError.limit("a record is longer than \(maxRecordBytes >> 20) MiB (the limit); is this a CSV or JSON Lines file?", at: location)
    }

    private func tooManyFields(line: Int) -> ToolError {
        ToolError.limit("a record has more than \(TableReader.maxFields) fields (the limit)", at: location(line: line))
    }

    private func ensureBounds(_ fields: Int) {
        if 2 * fields <= boundsCapacity { return }
        let bigger = UnsafeMutablePointer<Int>.allocate(capacity: max(boundsCapacity * 2, 2 * fields))
        bigger.update(from: bounds, count: boundsCapacity)
        bounds.deallocate()
        bounds = bigger
        boundsCapacity = max(boundsCapacity * 2, 2 * fields)
    }

    /// Skips a BOM, finds the first non-blank byte and reads the header.
    private func start() throws {
        while end - position < 3 {
            if !(try fill()) { break }
        }
        if end - position >= 3 && buffer[position] == 0xEF && buffer[position + 1] == 0xBB && buffer[position + 2] == 0xBF {
            position += 3
        }
        if let compressor = otherCompression(UnsafeBufferPointer(start: buffer + position, count: end - position)) {
            throw ToolError.data(
                "this is \(compressor.name) data; fu reads plain or zstd: \(compressor.decompress) -c \(name == "stdin" ? "FILE" : name) | \(runningToolName)", at: location())
        }
        while true {
            while position < end, isBlank(buffer[position]) {
                if buffer[position] == UInt8(ascii: "\n") { line += 1 }
                position += 1
            }
            if position < end { break }
            if !(try fill()) { throw ToolError.data("empty input", at: location()) }
        }
        if buffer[position] == UInt8(ascii: "{") {
            format = .jsonl
            try readJSONHeader()
        } else {
            try readCSVHeader()
        }
    }

    private func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    // MARK: Rows

    /// Shown on a terminal as rows are read (fu-featurize ticks its own, from its parser).
    public var progress: Progress?
    private var rowsRead = 0

    /// The next row, or nil at the end. The row is valid until the next call.
    public func next() throws -> Row? {
        if let progress {
            rowsRead += 1
            progress.tick(rows: rowsRead, bytes: input.bytesRead, fraction: input.fractionRead)
        }
        do {
            switch format {
            case .csv: return try nextCSV()
            case .jsonl: return try nextJSON()
            }
        } catch let stop as WouldRead {
            if progress != nil { rowsRead -= 1 }
            throw stop
        }
    }

    // MARK: CSV

    private func readCSVHeader() throws {
        guard let (count, startLine, highBytes) = try scanCSVRecord() else {
            throw ToolError.data("empty input", at: location())
        }
        let row = Row(base: buffer, bounds: bounds, count: count, line: startLine)
        if highBytes {
            for i in 0..<count where !isValidUTF8(row.field(i)) {
                throw ToolError.data("invalid UTF-8 in header", at: location(line: startLine))
            }
        }
        header = (0..<count).map { row.string($0) }
        try checkDistinct(header, line: startLine)
    }

    /// A name twice would make "the column X" mean two things (fu-fit read the first twice).
    private func checkDistinct(_ names: [String], line: Int) throws {
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw ToolError.data("column '\(name)' appears twice in the header", at: location(line: line))
        }
    }

    private func nextCSV() throws -> Row? {
        while true {
            guard let (count, startLine, highBytes) = try scanCSVRecord() else { return nil }
            let row = Row(base: buffer, bounds: bounds, count: count, line: startLine)
            if count != header.count {
                try reject("expected \(header.count) fields, found \(count)", line: startLine)
                continue
            }
            if highBytes, !(0..<count).allSatisfy({ isValidUTF8(row.field($0)) }) {
                try reject("invalid UTF-8", line: startLine)
                continue
            }
            return row
        }
    }

    /// Hands `take` the plain records (see `scanPlainRecord`) already in the buffer, up to
    /// `limit`, each as a row of the header's number of fields. Stops before any other record (a blank line, a quote, a CR, a byte >= 0x80, a
    /// record of other length, the buffer's last 64 bytes) or one `take` refuses, which
    /// `next()` then reads. The 64 bytes' marks are found once for every record ending in
    /// them, with no call per row: fu-featurize reads most rows so, at half the cost.
    /// Returns how many records `take` took. Not for JSON Lines, nor while the reader ticks
    /// progress of its own.
    @inline(__always)
    func takePlainRecords(
        limit: Int, _ take: (Row) throws -> Bool
    ) rethrows -> Int {
        let fieldCount = header.count
        guard format == .csv, progress == nil, fu_csv_marks_fast() != 0, fieldCount > 0, fieldCount <= 64 else { return 0 }
        ensureBounds(fieldCount)
        let (buffer, end, bounds) = (self.buffer, self.end, self.bounds)
        var taken = 0
        defer {
            line += taken
        }
        while taken < limit && end - position >= 64 {
            let start = position
            let marks = fu_csv_marks64(buffer + start)
            var newlines = marks.newlines
            var recordStart = 0
            while newlines != 0 && taken < limit {
                let length = newlines.trailingZeroBitCount
                // The bits of this record's bytes, from its first to its newline (excluded).
                let record: UInt64 = ((1 << UInt64(length)) - 1) & ~((1 << UInt64(recordStart)) - 1)
                guard length > recordStart, marks.others & record == 0 else { return taken }
                guard TableReader.writeBounds(
                    bounds, fields: fieldCount, commas: marks.commas & record, marksAt: start, from: start + recordStart, to: start + length
                ) else { return taken }
                guard try take(Row(base: buffer, bounds: bounds, count: fieldCount, line: line + taken)) else { return taken }
                taken += 1
                recordStart = length + 1
                position = start + recordStart
                newlines &= newlines &- 1
            }
            // A record longer than 64 bytes: `next()` reads it.
            if recordStart == 0 { return taken }
        }
        return taken
    }

    /// Finds the next record's fields (quote-aware) and unescapes doubled quotes in place.
    /// Returns the field count, the record's first line, and whether any byte was non-ASCII.
    private func scanCSVRecord() throws -> (Int, Int, Bool)? {
        scan: while true {
            // Locals, not properties: the loops below then keep them in registers.
            let buffer = self.buffer
            let end = self.end
            let atEOF = self.atEOF
            var bounds = self.bounds
            var p = position
            // Blank lines between records are skipped, as pandas and xsv do.
            while p < end && (buffer[p] == 0x0A || buffer[p] == 0x0D) {
                if buffer[p] == 0x0A { line += 1 }
                p += 1
            }
            position = p
            if p == end {
                if atEOF { return nil }
                try fill()
                continue scan
            }
            let startLine = line
            if let (fields, next) = TableReader.scanPlainRecord(buffer, from: p, to: end, bounds: bounds, maxFields: boundsCapacity / 2) {
                position = next
                line = startLine + 1
                return (fields, startLine, false)
            }
            var fields = 0
            var newlines = 0
            var highBytes = false
            escapedFields.removeAll(keepingCapacity: true)
            while true {
                if 2 * (fields + 1) > boundsCapacity {
                    if fields >= TableReader.maxFields { throw tooManyFields(line: startLine) }
                    ensureBounds(fields + 1)
                    bounds = self.bounds
                }
                if p < end && buffer[p] == UInt8(ascii: "\"") {
                    p += 1
                    let fieldStart = p
                    var escaped = false
                    while true {
                        while p < end && buffer[p] != UInt8(ascii: "\"") {
                            let byte = buffer[p]
                            if byte == 0x0A { newlines += 1 } else if byte >= 0x80 { highBytes = true }
                            p += 1
                        }
                        if p + 1 >= end && !atEOF {
                            try fill()
                            continue scan
                        }
                        if p == end {
                            throw ToolError.data("unterminated quote", at: location(line: startLine))
                        }
                        if p + 1 < end && buffer[p + 1] == UInt8(ascii: "\"") {
                            escaped = true
                            p += 2
                            continue
                        }
                        break
                    }
                    bounds[2 * fields] = fieldStart
                    bounds[2 * fields + 1] = p
                    if escaped { escapedFields.append(fields) }
                    fields += 1
                    p += 1
                    if p < end {
                        let byte = buffer[p]
                        if byte != UInt8(ascii: ",") && byte != 0x0A && byte != 0x0D {
                            // Malformed: skip to the end of the line so the next record can be read.
                            while p < end && buffer[p] != 0x0A { p += 1 }
                            if p == end && !atEOF {
                                try fill()
                                continue scan
                            }
                            position = min(p + 1, end)
                            line = startLine + newlines + 1
                            try reject("unexpected character after closing quote", line: startLine)
                            continue scan
                        }
                    }
                } else {
                    let fieldStart = p
                    p = findDelimiter(buffer, from: p, to: end, highBytes: &highBytes)
                    if p == end && !atEOF {
                        try fill()
                        continue scan
                    }
                    bounds[2 * fields] = fieldStart
                    bounds[2 * fields + 1] = p
                    fields += 1
                }
                // p is at a separator, a line end or the end of input.
                if p == end { break }
                let byte = buffer[p]
                if byte == UInt8(ascii: ",") {
                    p += 1
                    continue
                }
                if byte == 0x0D {
                    if p + 1 == end && !atEOF {
                        try fill()
                        continue scan
                    }
                    p += (p + 1 < end && buffer[p + 1] == 0x0A) ? 2 : 1
                } else {
                    p += 1
                }
                break
            }
            position = p
            line = startLine + newlines + 1
            for field in escapedFields { unescapeQuotes(field) }
            return (fields, startLine, highBytes)
        }
    }

    /// The usual record: unquoted ASCII fields without a CR, ending in `\n` inside the
    /// buffer, with at most `maxFields` fields. Its bounds go into `bounds`; returns the
    /// field count and the next record's start, or nil for any other record (or when a word
    /// holds a `"`, a CR or a byte >= 0x80, even past the record's end), which the general
    /// scan then reads: the results are the same. A record within the next 64 bytes is
    /// found from their marks (`fu_csv_marks64`, 16 bytes an instruction) with no branch
    /// per byte or field; a longer one, or near the buffer's end, eight bytes at a time.
    @inline(__always)
    private static func scanPlainRecord(
        _ buffer: UnsafeMutablePointer<UInt8>, from start: Int, to end: Int, bounds: UnsafeMutablePointer<Int>, maxFields: Int
    ) -> (fields: Int, next: Int)? {
        if fu_csv_marks_fast() != 0 && end - start >= 64 {
            let marks = fu_csv_marks64(buffer + start)
            if marks.newlines != 0 {
                let length = marks.newlines.trailingZeroBitCount
                let within: UInt64 = (1 << UInt64(length)) - 1
                guard marks.others & within == 0 else { return nil }
                let commas = marks.commas & within
                let fields = commas.nonzeroBitCount + 1
                guard fields <= maxFields else { return nil }
                _ = writeBounds(bounds, fields: fields, commas: commas, marksAt: start, from: start, to: start + length)
                return (fields, start + length + 1)
            }
        }
        return scanPlainWords(buffer, from: start, to: end, bounds: bounds, maxFields: maxFields)
    }

    /// The bounds of a plain record's `fields` fields, from `from` to `to` (its newline),
    /// split at the bits of `commas`: marks of the 64 bytes from `marksAt`. Returns whether
    /// `commas` has exactly `fields - 1` bits (the bounds are of no use otherwise): checked
    /// as they are taken, since a population count is a dozen instructions on the baseline
    /// x86-64 this is compiled for (no POPCNT).
    @inline(__always)
    private static func writeBounds(_ bounds: UnsafeMutablePointer<Int>, fields: Int, commas: UInt64, marksAt base: Int, from start: Int, to end: Int) -> Bool {
        var commas = commas
        var fieldStart = start
        for field in 0..<(fields - 1) {
            if commas == 0 { return false }
            let at = base + commas.trailingZeroBitCount
            bounds[2 * field] = fieldStart
            bounds[2 * field + 1] = at
            fieldStart = at + 1
            commas &= commas &- 1
        }
        bounds[2 * fields - 2] = fieldStart
        bounds[2 * fields - 1] = end
        return commas == 0
    }

    /// `scanPlainRecord` eight bytes at a time (SWAR).
    @inline(__always)
    private static func scanPlainWords(
        _ buffer: UnsafeMutablePointer<UInt8>, from start: Int, to end: Int, bounds: UnsafeMutablePointer<Int>, maxFields: Int
    ) -> (fields: Int, next: Int)? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let highs: UInt64 = 0x8080_8080_8080_8080
        // Whether any byte is zero (exact as a whole, not per byte), and exactly which are.
        @inline(__always) func anyZero(_ word: UInt64) -> UInt64 { (word &- ones) & ~word & highs }
        @inline(__always) func zeros(_ word: UInt64) -> UInt64 { ~(((word & lows) &+ lows) | word) & highs }
        var fields = 0
        var fieldStart = start
        var p = start
        while p + 8 <= end {
            let word = UnsafeRawPointer(buffer + p).loadUnaligned(as: UInt64.self)
            if (word & highs) | anyZero(word ^ (ones &* 0x22)) | anyZero(word ^ (ones &* 0x0D)) != 0 { return nil }
            var hits = zeros(word ^ (ones &* 0x2C)) | zeros(word ^ (ones &* 0x0A))
            while hits != 0 {
                let at = p + hits.trailingZeroBitCount >> 3
                if fields == maxFields { return nil }
                bounds[2 * fields] = fieldStart
                bounds[2 * fields + 1] = at
                fields += 1
                if buffer[at] == 0x0A { return (fields, at + 1) }
                fieldStart = at + 1
                hits &= hits &- 1
            }
            p += 8
        }
        while p < end {
            let byte = buffer[p]
            if byte == UInt8(ascii: "\"") || byte == 0x0D || byte >= 0x80 { return nil }
            if byte == UInt8(ascii: ",") || byte == 0x0A {
                if fields == maxFields { return nil }
                bounds[2 * fields] = fieldStart
                bounds[2 * fields + 1] = p
                fields += 1
                if byte == 0x0A { return (fields, p + 1) }
                fieldStart = p + 1
            }
            p += 1
        }
        return nil
    }

    /// The first `,` `\n` or `\r` in `buffer[from..<to]` (or `to`), noting any byte >= 0x80.
    /// Eight bytes at a time (SWAR): the unquoted-field scan is the reader's hottest loop.
    @inline(__always)
    private func findDelimiter(_ buffer: UnsafeMutablePointer<UInt8>, from start: Int, to end: Int, highBytes: inout Bool) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zeroBytes(_ word: UInt64) -> UInt64 { (word &- ones) & ~word & highs }
        var p = start
        while p + 8 <= end {
            let word = UnsafeRawPointer(buffer + p).loadUnaligned(as: UInt64.self)
            let high = word & highs
            // Exact for the lowest match, which is the only one used.
            let hits = zeroBytes(word ^ (ones &* 0x2C)) | zeroBytes(word ^ (ones &* 0x0A)) | zeroBytes(word ^ (ones &* 0x0D))
            if high != 0 { highBytes = true }
            if hits != 0 { return p + (hits.trailingZeroBitCount >> 3) }
            p += 8
        }
        while p < end {
            let byte = buffer[p]
            if byte == UInt8(ascii: ",") || byte == 0x0A || byte == 0x0D { return p }
            if byte >= 0x80 { highBytes = true }
            p += 1
        }
        return p
    }

    /// `a""b` becomes `a"b`, in place: the result is never longer.
    private func unescapeQuotes(_ field: Int) {
        var read = bounds[2 * field]
        let stop = bounds[2 * field + 1]
        var write = read
        while read < stop {
            buffer[write] = buffer[read]
            read += buffer[read] == UInt8(ascii: "\"") ? 2 : 1
            write += 1
        }
        bounds[2 * field + 1] = write
    }

    // MARK: JSON Lines

    private func readJSONHeader() throws {
        guard let (lineStart, lineEnd, startLine) = try nextLine() else {
            throw ToolError.data("empty input", at: location())
        }
        var keys: [[UInt8]] = []
        var seen = Set<[UInt8]>()
        try parseJSONObject(lineStart, lineEnd, line: startLine) { key, _ in
            guard seen.insert(key).inserted else {
                throw ToolError.data("key '\(String(decoding: key, as: UTF8.self))' appears twice in the first object", at: location(line: startLine))
            }
            if keys.count == TableReader.maxFields { throw tooManyFields(line: startLine) }
            keys.append(key)
        }
        headerBytes = keys
        header = keys.map { String(decoding: $0, as: UTF8.self) }
        // The first object is also a row: parse it again now that the columns are known.
        try storeJSONRow(lineStart, lineEnd, line: startLine)
        heldFirstRow = startLine
    }

    private func nextJSON() throws -> Row? {
        if let held = heldFirstRow {
            heldFirstRow = nil
            return Row(base: scratch, bounds: bounds, count: header.count, line: held)
        }
        while true {
            guard let (lineStart, lineEnd, startLine) = try nextLine() else { return nil }
            do {
                try storeJSONRow(lineStart, lineEnd, line: startLine)
            } catch let error as ToolError where skipBadRows && error.status == .dataError {
                skippedRows += 1
                continue
            }
            return Row(base: scratch, bounds: bounds, count: header.count, line: startLine)
        }
    }

    /// The next non-blank line as a byte range of the buffer, with its line number.
    private func nextLine() throws -> (Int, Int, Int)? {
        while true {
            var p = position
            while p < end && buffer[p] != 0x0A { p += 1 }
            if p == end && !atEOF {
                try fill()
                continue
            }
            if position == end { return nil }
            let startLine = line
            var lineEnd = p
            while lineEnd > position && isBlank(buffer[lineEnd - 1]) { lineEnd -= 1 }
            var lineStart = position
            while lineStart < lineEnd && isBlank(buffer[lineStart]) { lineStart += 1 }
            position = min(p + 1, end)
            line += 1
            if lineStart < lineEnd { return (lineStart, lineEnd, startLine) }
        }
    }

    /// Decodes one object's values into `scratch`, each under its header column;
    /// keys outside the header are ignored and missing keys are empty fields.
    private func storeJSONRow(_ start: Int, _ stop: Int, line: Int) throws {
        scratchCount = 0
        ensureBounds(header.count)
        for i in 0..<(2 * header.count) { bounds[i] = 0 }
        try parseJSONObject(start, stop, line: line) { key, value in
            guard let column = headerBytes.firstIndex(of: key) else { return }
            reserveRoom(&scratch, capacity: &scratchCapacity, used: scratchCount, needed: scratchCount + value.count)
            value.withUnsafeBufferPointer { (scratch + scratchCount).update(from: $0.baseAddress!, count: $0.count) }
            bounds[2 * column] = scratchCount
            scratchCount += value.count
            bounds[2 * column + 1] = scratchCount
        }
    }

    private func parseJSONObject(
        _ start: Int, _ stop: Int, line: Int, _ visit: ([UInt8], [UInt8]) throws -> Void
    ) throws {
        let bytes = UnsafeBufferPointer(start: buffer + start, count: stop - start)
        if !isValidUTF8(bytes) { throw ToolError.data("invalid UTF-8", at: location(line: line)) }
        var parser = JSONParser(bytes: bytes)
        do {
            try parser.parseObject(visit)
        } catch let error as JSONParser.Failure {
            throw ToolError.data(error.message, at: location(line: line))
        }
    }
}

/// The compressors whose output people hand to fu by mistake, by their magic numbers
/// (zstd's is read before this; these would otherwise fail as invalid UTF-8).
func otherCompression(_ bytes: UnsafeBufferPointer<UInt8>) -> (name: String, decompress: String)? {
    let magics: [([UInt8], String, String)] = [
        ([0x1F, 0x8B], "gzip", "gunzip"), ([0x42, 0x5A, 0x68], "bzip2", "bunzip2"),
        ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], "xz", "unxz"),
    ]
    for (magic, name, tool) in magics where bytes.starts(with: magic) { return (name, tool) }
    return nil
}
