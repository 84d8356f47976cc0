import Testing
@testable import FakeUserKit

/// Reads a whole table from text: header and rows as strings.
func readTable(_ text: String, skipBadRows: Bool = false) throws -> (header: [String], rows: [[String]], reader: TableReader) {
    try readTable(bytes: Array(text.utf8), skipBadRows: skipBadRows)
}

func readTable(bytes: [UInt8], skipBadRows: Bool = false) throws -> (header: [String], rows: [[String]], reader: TableReader) {
    let reader = try TableReader(ByteInput(bytes: bytes, name: "test.csv"), skipBadRows: skipBadRows)
    var rows: [[String]] = []
    while let row = try reader.next() {
        rows.append((0..<row.count).map { row.string($0) })
    }
    return (reader.header, rows, reader)
}

func expectDataError(_ text: String, _ message: String, line: Int?, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    do {
        _ = try readTable(text)
        Issue.record("expected an error", sourceLocation: sourceLocation)
    } catch let error as ToolError {
        #expect(error.status == .dataError, sourceLocation: sourceLocation)
        #expect(error.message == message, sourceLocation: sourceLocation)
        #expect(error.location?.line == line, sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct CSVReading {
    @Test func plainRows() throws {
        let table = try readTable("a,b\n1,2\n3,4\n")
        #expect(table.header == ["a", "b"])
        #expect(table.rows == [["1", "2"], ["3", "4"]])
        #expect(table.reader.format == .csv)
    }

    @Test func quotedFieldsWithCommasQuotesAndNewlines() throws {
        let table = try readTable("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,\"\"\n")
        #expect(table.rows == [["x,y", "say \"hi\""], ["two\nlines", "z"], ["last", ""]])
    }

    @Test func crlfAndBOMAndNoFinalNewline() throws {
        let table = try readTable("\u{FEFF}a,b\r\n1,2\r\n3,4")
        #expect(table.header == ["a", "b"])
        #expect(table.rows == [["1", "2"], ["3", "4"]])
    }

    @Test func blankLinesAreSkippedAndLinesStillCounted() throws {
        let reader = try TableReader(ByteInput(bytes: Array("a\n\n1\n\n\n2\n".utf8), name: "t"))
        var lines: [Int] = []
        while let row = try reader.next() { lines.append(row.line) }
        #expect(lines == [3, 6])
    }

    @Test func lineNumbersCountNewlinesInsideQuotes() throws {
        let reader = try TableReader(ByteInput(bytes: Array("a,b\n\"1\n2\n3\",x\nq,r\n".utf8), name: "t"))
        _ = try reader.next()
        #expect(try reader.next()?.line == 5)
    }

    @Test func columnsAreFoundByName() throws {
        let table = try readTable("extra,Category,UserId,Event\nq,Jobs,U1,click_ad\n")
        #expect(table.reader.column("UserId") == 2)
        #expect(try table.reader.requireColumn("Event") == 3)
        #expect(throws: ToolError.data("missing required column 'Fake'", at: InputLocation(file: "test.csv", line: 1))) {
            try table.reader.requireColumn("Fake")
        }
    }

    @Test func recordLongerThanTheBuffer() throws {
        let long = String(repeating: "x", count: 3 << 20)
        let table = try readTable("a,b\n\"\(long)\",1\nshort,2\n")
        #expect(table.rows.count == 2)
        #expect(table.rows[0][0].count == 3 << 20)
        #expect(table.rows[1] == ["short", "2"])
    }

    @Test func wrongFieldCount() {
        expectDataError("a,b\n1,2\n1,2,3\n", "expected 2 fields, found 3", line: 3)
    }

    @Test func unterminatedQuote() {
        expectDataError("a,b\n1,2\n\"open,2\n3,4\n", "unterminated quote", line: 3)
    }

    @Test func textAfterClosingQuote() {
        expectDataError("a,b\n\"x\"y,2\n", "unexpected character after closing quote", line: 2)
    }

    @Test func invalidUTF8() {
        var bytes = Array("a,b\nok,1\n".utf8)
        bytes += [0x66, 0xFF, 0x2C, 0x31, 0x0A]
        #expect(throws: ToolError.data("invalid UTF-8", at: InputLocation(file: "test.csv", line: 3))) {
            _ = try readTable(bytes: bytes)
        }
    }

    @Test func validMultibyteUTF8IsKept() throws {
        let table = try readTable("a\nMotor – café ✓ 𝄞\n")
        #expect(table.rows == [["Motor – café ✓ 𝄞"]])
    }

    @Test func emptyInput() {
        expectDataError("", "empty input", line: nil)
        expectDataError("\n\n", "empty input", line: nil)
    }

    @Test func headerOnly() throws {
        let table = try readTable("a,b\n")
        #expect(table.header == ["a", "b"])
        #expect(table.rows.isEmpty)
    }

    @Test func skipBadRowsCountsThem() throws {
        let table = try readTable("a,b\n1,2\n1\n\"x\"y,3\n5,6\n", skipBadRows: true)
        #expect(table.rows == [["1", "2"], ["5", "6"]])
        #expect(table.reader.skippedRows == 2)
    }
}

extension CSVReading {
    /// Plain records are found from 64-byte marks when 64 bytes are buffered, else eight
    /// bytes at a time, else by the general scan: random records (short and past 64 bytes,
    /// with quotes, CRs, non-ASCII bytes, blank lines, wrong field counts) read through a
    /// large buffer and through one of 5 bytes give the same rows, lines and outcome; so do
    /// plain records taken in bulk (`takePlainRecords`), through buffers of 1 MiB, 100 and 5 bytes.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func recordsReadAlikeWhateverTheScan(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let pieces = ["a", "bc", "UserId", "click_ad", "Jobs", "\"q,\"", "\"\"\"\"", "é", "\r", "0123456789abcdef", ""]
        var text = "A,B,C\n"
        for _ in 0..<400 {
            let fields = below(20) == 0 ? 2 + below(3) : 3
            text += (0..<fields).map { _ in (0..<below(below(8) == 0 ? 12 : 3)).map { _ in pieces[below(below(6) == 0 ? pieces.count : 5)] }.joined() }.joined(separator: ",")
            text += below(30) == 0 ? "\n\n" : "\n"
        }
        func read(bufferBytes: Int) -> (rows: [[String]], lines: [Int], outcome: String) {
            var rows: [[String]] = [], lines: [Int] = []
            do {
                let reader = try TableReader(ByteInput(bytes: Array(text.utf8), name: "t.csv"), skipBadRows: seed > 1, maxRecordBytes: 1 << 16, bufferBytes: bufferBytes)
                while let row = try reader.next() {
                    rows.append((0..<row.count).map { row.string($0) })
                    lines.append(row.line)
                }
                return (rows, lines, "ok, \(reader.skippedRows) skipped")
            } catch {
                return (rows, lines, "\(error)")
            }
        }
        /// Plain records taken in bulk between rows read one at a time, with random limits
        /// and some records refused (then read by `next()`).
        func readInBulk(bufferBytes: Int) -> (rows: [[String]], lines: [Int], outcome: String, inBulk: Int) {
            var rows: [[String]] = [], lines: [Int] = [], inBulk = 0
            do {
                let reader = try TableReader(ByteInput(bytes: Array(text.utf8), name: "t.csv"), skipBadRows: seed > 1, maxRecordBytes: 1 << 16, bufferBytes: bufferBytes)
                while true {
                    inBulk += reader.takePlainRecords(limit: below(6)) { row in
                        guard below(8) != 0 else { return false }
                        rows.append((0..<row.count).map { row.string($0) })
                        lines.append(row.line)
                        return true
                    }
                    guard let row = try reader.next() else { break }
                    rows.append((0..<row.count).map { row.string($0) })
                    lines.append(row.line)
                }
                return (rows, lines, "ok, \(reader.skippedRows) skipped", inBulk)
            } catch {
                return (rows, lines, "\(error)", inBulk)
            }
        }
        let whole = read(bufferBytes: 1 << 20), small = read(bufferBytes: 5)
        if seed > 1 { #expect(whole.rows.count > 200) }  // seed 1 stops at its first bad row
        #expect(whole.rows == small.rows)
        #expect(whole.lines == small.lines)
        #expect(whole.outcome == small.outcome)
        for bufferBytes in [1 << 20, 100, 5] {
            let bulk = readInBulk(bufferBytes: bufferBytes)
            #expect(bulk.rows == whole.rows)
            #expect(bulk.lines == whole.lines)
            #expect(bulk.outcome == whole.outcome)
            if bufferBytes == 1 << 20 && seed > 1 { #expect(bulk.inBulk > 20) }
        }
    }
}

@Suite struct JSONLinesReading {
    @Test func objectsBecomeRowsUnderTheFirstObjectsKeys() throws {
        let table = try readTable("""
            {"UserId": "U1", "Event": "click_ad", "Fake": 0}
            {"Event": "send_sms", "UserId": "U\\"2\\u00e9", "extra": true, "Fake": 1}

            {"UserId": "U3", "Event": null, "Fake": 1.5e3}
            """)
        #expect(table.reader.format == .jsonl)
        #expect(table.header == ["UserId", "Event", "Fake"])
        #expect(table.rows == [["U1", "click_ad", "0"], ["U\"2é", "send_sms", "1"], ["U3", "", "1.5e3"]])
    }

    @Test func malformedLineNamesItsLine() {
        expectDataError("{\"a\": 1}\n{\"a\": }\n", "expected a value", line: 2)
        expectDataError("{\"a\": 1}\n{\"a\": [1]}\n", "nested JSON values are not supported", line: 2)
        expectDataError("{\"a\": \"open}\n", "unterminated JSON string", line: 1)
    }

    @Test func skipBadRows() throws {
        let table = try readTable("{\"a\": 1}\nnot json\n{\"a\": 2}\n", skipBadRows: true)
        #expect(table.rows == [["1"], ["2"]])
        #expect(table.reader.skippedRows == 1)
    }
}

/// Issue 16: a record's field count is bounded (bounds cost 16 bytes a field).
@Suite struct FieldLimit {
    func expectTooManyFields(_ text: String, line: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        do {
            _ = try readTable(text, skipBadRows: true)
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch let error as ToolError {
            #expect(error == ToolError.limit("a record has more than 4096 fields (the limit)", at: InputLocation(file: "test.csv", line: line)),
                    sourceLocation: sourceLocation)
            #expect(error.overLimit, sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func fieldsUpToTheLimitAreRead() throws {
        let header = (0..<4096).map { "c\($0)" }.joined(separator: ",")
        let table = try readTable(header + "\n" + String(repeating: ",", count: 4095) + "\n")
        #expect(table.header.count == 4096)
        #expect(table.rows.count == 1 && table.rows[0].count == 4096)
    }

    @Test func moreFieldsAreAnErrorEvenWhenSkippingBadRows() {
        expectTooManyFields("a,b\n1,2\n" + String(repeating: ",", count: 1 << 20) + "\n", line: 3)
        expectTooManyFields(String(repeating: "\"x\",", count: 5000) + "\n", line: 1)
        let keys = (0..<4097).map { "\"k\($0)\":1" }.joined(separator: ",")
        expectTooManyFields("\n{\(keys)}\n", line: 2)
    }
}

/// fu-watch's blocks: with `onlyBuffered` the reader hands out the rows it holds, and
/// stops (`WouldRead`) at the first it would need input for, without losing it.
@Suite struct BufferedRows {
    /// Every row once, with its line, as a plain read gives them, though rows (some with
    /// quoted newlines, some bad and skipped) cross the buffer's edge at many places.
    @Test(arguments: [TableFormat.csv, .jsonl]) func aStopLosesNoRow(format: TableFormat) throws {
        var text = format == .csv ? "UserId,Event\n" : ""
        for i in 0..<300_000 {
            switch (format, i % 7) {
            case (.csv, 0): text += "\"U\(i)\nnext\",\"e,\(i)\"\n"
            case (.csv, 3): text += "bad\(i)\n\n"
            case (.csv, _): text += "U\(i),e\(i)\n"
            case (.jsonl, 3): text += "{\"UserId\": oops}\n\n"
            case (.jsonl, _): text += "{\"UserId\":\"U\(i)\",\"Event\":\"e\(i)\"}\n"
            }
        }
        func read(stopping: Bool) throws -> (rows: [[String]], lines: [Int], skipped: Int, stops: Int) {
            let reader = try TableReader(ByteInput(bytes: Array(text.utf8), name: "t"), skipBadRows: true)
            var rows: [[String]] = [], lines: [Int] = [], stops = 0
            while true {
                reader.onlyBuffered = stopping
                do {
                    while let row = try reader.next() {
                        rows.append((0..<row.count).map { row.string($0) })
                        lines.append(row.line)
                    }
                    break
                } catch is TableReader.WouldRead {
                    stops += 1
                }
                reader.onlyBuffered = false
                guard let row = try reader.next() else { break }
                rows.append((0..<row.count).map { row.string($0) })
                lines.append(row.line)
            }
            return (rows, lines, reader.skippedRows, stops)
        }
        let plain = try read(stopping: false), stopped = try read(stopping: true)
        #expect(plain.stops == 0 && stopped.stops >= 3, "\(stopped.stops) stops")
        #expect(plain.rows.count == (0..<300_000).count { $0 % 7 != 3 } && plain.skipped == 300_000 - plain.rows.count)
        #expect(stopped.rows == plain.rows && stopped.lines == plain.lines && stopped.skipped == plain.skipped)
    }
}
