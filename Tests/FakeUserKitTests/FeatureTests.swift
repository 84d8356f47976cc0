import Foundation
import Testing
@testable import FakeUserKit
import FuzzSupport

/// Featurizes CSV text and returns the output rows as dictionaries by column name.
func featurize(_ text: String, _ options: FeaturizeOptions = FeaturizeOptions()) throws -> (header: [String], rows: [[String: String]]) {
    let folder = try temporaryFolder()
    let path = folder.appendingPathComponent("features.csv").path
    let reader = try TableReader(ByteInput(bytes: Array(text.utf8), name: "events.csv"))
    let output = try ByteOutput(path: path)
    _ = try Featurizer(options: options).run(reader: reader, output: output, format: .csv)
    try output.commit()
    let table = try readTable(readAll(path))
    return (table.header, table.rows.map { Dictionary(uniqueKeysWithValues: zip(table.header, $0)) })
}

@Suite struct StableHashing {
    @Test func fnv1aTestVectors() {
        #expect(stableHash("") == 0xCBF2_9CE4_8422_2325)
        #expect(stableHash("a") == 0xAF63_DC4C_8601_EC8C)
        #expect(stableHash("foobar") == 0x8594_4171_F739_67E8)
    }

    @Test func shardParsing() throws {
        #expect(try Shard(parsing: "1/4") == Shard(index: 1, count: 4))
        #expect(throws: ToolError.usage("invalid shard 3/2: expected i/n with 0 <= i < n")) { try Shard(parsing: "3/2") }
        #expect(throws: ToolError.usage("invalid shard 'x': expected i/n, e.g. 0/4")) { try Shard(parsing: "x") }
        #expect(throws: ToolError.self) { try Shard(parsing: "0/0") }
    }
}

/// Names → ids in order of first appearance, whichever way a lookup finds them (the
/// fingerprint table's guess, or the scan when guesses collide or ids pass 255).
@Suite struct Vocabularies {
    @Test func idsAreTheOrderOfFirstAppearance() {
        var random = SplitMix64(seed: 9)
        // Short names, names of 8–16 bytes, long names alike in their first and last 8
        // bytes (one fingerprint: the bytes between decide), and more than 255 names.
        let names = (0..<300).map { i -> String in
            switch i % 3 {
            case 0: "t\(i)"
            case 1: "type_\(String(repeating: "x", count: i % 9))\(i)"
            default: "abcdefgh\(i)-middle-\(i * 7)stuvwxyz"
            }
        } + ["abcdefgh1-middle-7stuvwxyz", "abcdefgh2-middle-7stuvwxyz"]
        var vocabulary = Vocabulary()
        var expected: [String: Int] = [:]
        for _ in 0..<5000 {
            let name = names[Int(random.next() % UInt64(names.count))]
            let id = vocabulary.id(for: Array(name.utf8))
            if expected[name] == nil { expected[name] = expected.count }
            #expect(id == expected[name], "\(name)")
        }
        for (name, id) in expected { #expect(vocabulary.lookup(name) == id && vocabulary.name(id) == name) }
        // Names past a truncation are forgotten, and get new ids when seen again.
        vocabulary.truncate(to: 10)
        let forgotten = expected.first { $0.value >= 10 }!.key
        #expect(vocabulary.lookup(forgotten) == nil)
        #expect(vocabulary.id(for: Array(forgotten.utf8)) == 10)
        for (name, id) in expected where id < 10 { #expect(vocabulary.id(for: Array(name.utf8)) == id) }
    }

    /// The parser's lookup reads a name's first 8 bytes whatever its length (`readable8`):
    /// random names of 1–24 bytes, some alike but for one byte or their length, followed by
    /// random bytes, are found as `id(for:)` numbered them, and unknown ones are not.
    @Test func aNameIsFoundAlikeWhenItsFirstWordIsReadWhole() {
        var random = SplitMix64(seed: 12)
        let base = (0..<24).map { _ in UInt8(0x21 + random.next() % 90) }
        var names: [[UInt8]] = []
        for length in 1...24 {
            names.append(Array(base.prefix(length)))
            var other = Array(base.prefix(length))
            other[Int(random.next() % UInt64(length))] ^= 1
            names.append(other)
        }
        var vocabulary = Vocabulary()
        let known = names.filter { _ in random.next() % 3 != 0 }
        for name in known { _ = vocabulary.id(for: name) }
        for name in names {
            let padded = name + (0..<8).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let found = padded.withUnsafeBufferPointer { vocabulary.knownID(for: UnsafeBufferPointer(rebasing: $0[0..<name.count]), readable8: true) }
            #expect(found == known.firstIndex(of: name), "\(name)")
        }
    }
}

/// Users in byte order of their ids, as every output lists them: the radix sort on the
/// first 8 bytes and the comparisons within a run of one prefix give what sorting the
/// bytes does (a prefix before its extensions, NUL and bytes past 0x7F in byte order).
@Suite struct IDOrder {
    @Test(arguments: [UInt64(1), 2, 3])
    func sortedByIDIsByteOrder(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let alphabet: [UInt8] = [0, 0x30, 0x31, 0x41, 0x7F, 0x80, 0xC3, 0xFF]
        let stems = (0..<40).map { _ in (0..<below(10)).map { _ in alphabet[below(alphabet.count)] } }
        let ids = UserIDs()
        var seen = Set<[UInt8]>()
        for _ in 0..<3000 {
            // Many ids share a stem of up to 9 bytes, so prefixes of 8 bytes tie often.
            let id = stems[below(stems.count)] + (0..<below(12)).map { _ in alphabet[below(alphabet.count)] }
            guard !id.isEmpty, seen.insert(id).inserted else { continue }
            _ = id.withUnsafeBufferPointer { ids.append($0) }
        }
        let sorted = ids.sortedByID().map { Array(ids.id($0)) }
        #expect(sorted.count == seen.count && seen.count > 1000)
        #expect(sorted == seen.sorted { $0.lexicographicallyPrecedes($1) })
    }
}

/// The sort's buckets (the top 16 bits from the first that differs) and their radix
/// passes, on ids like the benchmark's (hex), sharing a long stem, of a single byte
/// value, and on none or one id.
@Suite struct IDOrderByBucket {
    @Test(arguments: ["hex", "stem", "bytes", "one", "none"])
    func sortedByIDIsByteOrder(kind: String) {
        var random = SplitMix64(seed: 11)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let hex = Array("0123456789ABCDEF".utf8)
        let ids = UserIDs()
        var seen = Set<[UInt8]>()
        let count = kind == "one" ? 1 : kind == "none" ? 0 : 20_000
        while seen.count < count {
            let id: [UInt8]
            switch kind {
            case "hex": id = (0..<(8 + below(3))).map { _ in hex[below(16)] }
            case "stem": id = Array("user-".utf8) + (0..<below(7)).map { _ in hex[below(16)] }
            default: id = (0..<(1 + below(12))).map { _ in UInt8(below(256)) }
            }
            guard seen.insert(id).inserted else { continue }
            _ = id.withUnsafeBufferPointer { ids.append($0) }
        }
        let sorted = ids.sortedByID().map { Array(ids.id($0)) }
        #expect(sorted.count == count)
        #expect(sorted == seen.sorted { $0.lexicographicallyPrecedes($1) })
    }
}

@Suite struct Features {
    let events = """
        UserId,Event,Category,Fake
        B,click_ad,Jobs,1
        A,send_email,Motor,0
        B,send_email,Jobs,1
        A,send_email,Jobs,0
        B,click_ad,Motor,1
        B,send_email,Motor,1
        A,phone_call,Motor,0
        A,send_email,Motor,0
        """

    @Test func columnsAndOrder() throws {
        let result = try featurize(events)
        #expect(result.header == [
            "UserId", "Fake", "total_events", "click_ad_ratio", "send_email_ratio", "unique_categories",
            "category_repeat_ratio", "click_ad", "phone_call", "send_email", "phone_call_ratio",
            "click_ratio", "unique_events", "event_entropy", "category_entropy", "top_category_share",
            "unique_event_category_pairs",
        ])
        #expect(result.rows.map { $0["UserId"] } == ["A", "B"])
    }

    @Test func handComputedValues() throws {
        let rows = try featurize(events).rows
        let a = rows[0]  // send_email ×3 (Motor, Jobs, Motor), phone_call ×1 (Motor)
        #expect(a["Fake"] == "0")
        #expect(a["total_events"] == "4")
        #expect(a["click_ad_ratio"] == "0")
        #expect(a["send_email_ratio"] == "0.75")
        #expect(a["unique_categories"] == "2")
        #expect(a["category_repeat_ratio"] == "2")
        #expect(a["click_ad"] == "0" && a["phone_call"] == "1" && a["send_email"] == "3")
        #expect(a["phone_call_ratio"] == "0.25")
        #expect(a["unique_events"] == "2")
        let entropy = -(0.75 * log(0.75) + 0.25 * log(0.25))
        #expect(Double(a["event_entropy"]!) == entropy)
        #expect(Double(a["category_entropy"]!) == entropy)  // Motor 3, Jobs 1
        #expect(a["top_category_share"] == "0.75")
        #expect(a["unique_event_category_pairs"] == "3")
        let b = rows[1]  // click_ad ×2, send_email ×2, Jobs ×2, Motor ×2
        #expect(Double(b["event_entropy"]!) == log(2.0))
        #expect(Double(b["category_entropy"]!) == log(2.0))
        #expect(b["click_ratio"] == "0.5")
        #expect(b["unique_event_category_pairs"] == "4")
    }

    /// Shares and entropy terms come from tables for totals below 64: each entry is the
    /// same arithmetic on the same numbers, to the bit, at its place.
    @Test func tabledSharesAndEntropyTermsEqualTheArithmetic() {
        for total in 0..<100 {
            for count in 0...total {
                let p = Double(count) / Double(total)
                #expect(FeatureSet.share(count, of: total).bitPattern == p.bitPattern, "\(count)/\(total)")
                if count > 0 { #expect(FeatureSet.entropyTerm(count, of: total).bitPattern == (p * log(p)).bitPattern, "\(count)/\(total)") }
            }
        }
    }

    @Test func singleTypeHasZeroEntropy() throws {
        let row = try featurize("UserId,Event,Category\nU,click_ad,Jobs\nU,click_ad,Jobs\n").rows[0]
        #expect(row["event_entropy"] == "0")
        #expect(row["category_entropy"] == "0")
        #expect(row["Fake"] == nil)
    }

    @Test func eventsOptionFixesTheColumns() throws {
        let result = try featurize(events, FeaturizeOptions(events: ["send_sms", "click_ad"]))
        #expect(result.header.contains("send_sms") && result.header.contains("send_sms_ratio"))
        #expect(!result.header.contains("phone_call") && !result.header.contains("send_email"))
        let a = result.rows[0]
        #expect(a["send_sms"] == "0" && a["total_events"] == "4")  // unseen types still count in totals
        #expect(Double(a["event_entropy"]!) == -(0.75 * log(0.75) + 0.25 * log(0.25)))
    }

    @Test func eventsNamedTwiceGetOneColumn() throws {
        let result = try featurize(events, FeaturizeOptions(events: ["send_email", "click_ad", "send_email"]))
        #expect(result.header.filter { $0 == "send_email" }.count == 1)
        #expect(result.rows[0]["send_email"] == "3" && result.rows[0]["click_ad"] == "0")
    }

    @Test func manyTypesAndCategoriesGrowTheCounters() throws {
        var text = "UserId,Event,Category\n"
        for i in 0..<40 { text += "U\(i % 3),e\(i % 20),c\(i % 17)\n" }
        let rows = try featurize(text).rows
        #expect(rows.count == 3)
        let totals = rows.map { Int($0["total_events"]!)! }
        #expect(totals.reduce(0, +) == 40)
        for row in rows {
            let perType = (0..<20).map { Int(row["e\($0)"]!)! }.reduce(0, +)
            #expect(perType == Int(row["total_events"]!)!)
            #expect(Int(row["unique_event_category_pairs"]!)! == Int(row["total_events"]!)!)
        }
    }

    @Test func sortedModeEqualsDefaultOnSortedInput() throws {
        let lines = events.split(separator: "\n")
        let sorted = ([lines[0]] + lines.dropFirst().sorted()).joined(separator: "\n")
        let options = FeaturizeOptions(events: ["click_ad", "phone_call", "send_email"], sorted: true)
        #expect(try featurize(sorted, options).rows == featurize(sorted, FeaturizeOptions(events: ["click_ad", "phone_call", "send_email"])).rows)
    }

    @Test func sortedModeRejectsUserIdsGoingBackwards() {
        #expect(throws: ToolError.data("input is not sorted by UserId ('A' after 'B')", at: InputLocation(file: "events.csv", line: 3))) {
            _ = try featurize("UserId,Event,Category\nB,click_ad,Jobs\nA,click_ad,Jobs\n", FeaturizeOptions(sorted: true))
        }
    }

    @Test func badRows() {
        func expectError(_ body: String, _ message: String, line: Int) {
            #expect(throws: ToolError.data(message, at: InputLocation(file: "events.csv", line: line))) {
                _ = try featurize("UserId,Event,Category,Fake\nA,click_ad,Jobs,0\n" + body)
            }
        }
        expectError(",click_ad,Jobs,0\n", "empty UserId", line: 3)
        expectError("B,click_ad,Jobs,2\n", "Fake must be 0 or 1, found '2'", line: 3)
        expectError("A,click_ad,Jobs,1\n", "Fake changes within user 'A' (0 before, 1 here)", line: 3)
        #expect(throws: ToolError.data("missing required column 'Category'", at: InputLocation(file: "events.csv", line: 1))) {
            _ = try featurize("UserId,Event\nA,click_ad\n")
        }
    }
}

@Suite struct Synthesis {
    @Test func splitMix64KnownSequence() {
        var random = SplitMix64(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF)
        #expect(random.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func belowStaysInRange() {
        var random = SplitMix64(seed: 3)
        var seen = Set<Int>()
        for _ in 0..<1000 {
            let value = random.below(7)
            #expect((0..<7).contains(value))
            seen.insert(value)
        }
        #expect(seen.count == 7)
    }
}

/// The parse and decode threads hand rows over in batches: errors must still come in file order.
@Suite struct FeaturizePipeline {
    func bigEvents(rows: Int, users: Int = 997) -> String {
        var text = "UserId,Event,Category,Fake\n"
        for i in 0..<rows { text += "U\(i % users),click_ad,Jobs,\(i % users == 5 ? 1 : 0)\n" }
        return text
    }

    @Test func manyBatchesGiveTheSameCountsAsOne() throws {
        let rows = try featurize(bigEvents(rows: 20_000)).rows
        #expect(rows.count == 997)
        #expect(rows.map { Int($0["total_events"]!)! }.reduce(0, +) == 20_000)
    }

    /// `text` featurized by a tool's run (the compact table first) and by a request's
    /// (`oneThread`: the general counters from the start), which must agree.
    func featurizedAlikeInBothCounters(_ text: String) throws -> (header: [String], rows: [[String: String]]) {
        let compact = try featurize(text)
        let general = try featurize(text, FeaturizeOptions(oneThread: true))
        #expect(compact.header == general.header)
        #expect(compact.rows == general.rows)
        // Parts of 2 events: every few rows a group is full and counted, the hand-over to
        // the general form comes mid-group, and a part's last record is written by `seal`.
        var tinyGroups = FeaturizeOptions()
        tinyGroups.partCapacity = 2
        #expect(try featurize(text, tinyGroups).rows == general.rows)
        return compact
    }

    /// Plain rows read in bulk (`appendPlainRows`) between rows read one at a time give the
    /// rows, lines, names, skipped count and error of reading each row with `next()`: random
    /// inputs of plain rows with empty fields, Fakes other than 0 and 1, names first seen
    /// mid-input, quoted, non-ASCII and short rows, CRLF, with bad rows skipped or not,
    /// through a large buffer and a 1,000-byte one.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func rowsReadInBulkAreTheRowsReadOneByOne(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let skip = seed % 2 == 0
        let (events, categories) = (["click_ad", "send_sms", "phone_call"], ["Jobs", "Real_State", "Motor"])
        var text = "UserId,Event,Category,Fake\n"
        for _ in 0..<6_000 {
            var fields = ["u\(below(500))", events[below(3)], categories[below(3)], "\(below(2))"]
            switch below(80) {
            case 0: fields[below(3)] = ""
            case 1: fields[3] = ["2", "0.0", "", "01"][below(4)]
            case 2: fields[1] = "event\(below(20))"
            case 3: fields[2] = "c\(below(30))"
            case 4: fields[2] = "\"Jo,bs\""
            case 5: fields[0] = "é\(below(9))"
            case 6: fields.removeLast()
            default: break
            }
            text += fields.joined(separator: ",") + (below(300) == 0 ? "\r\n" : "\n")
        }
        func open() throws -> TableReader {
            try TableReader(ByteInput(bytes: Array(text.utf8), name: "e.csv"), skipBadRows: skip, maxRecordBytes: 1 << 16, bufferBytes: seed > 3 ? 1_000 : 1 << 18)
        }
        func described(_ id: UnsafeBufferPointer<UInt8>, _ event: String, _ category: String, _ label: Int8, _ line: Int) -> String {
            "\(String(decoding: id, as: UTF8.self)) \(event) \(category) \(label) \(line)"
        }
        var bulk: [String] = [], bulkOutcome = ""
        do {
            let reader = try open()
            let stage = ParseStage(parser: try EventRowParser(reader: reader, events: []), shard: nil, maxRows: nil, progress: nil, hashes: .index)
            do {
                while let batch = try stage.nextBatch() {
                    let (names, kinds) = batch.vocabularies!
                    for i in 0..<batch.count {
                        bulk.append(described(batch.id(i), names.name(batch.events[i]), kinds.name(batch.categories[i]), batch.labels[i], batch.lines[i]))
                        #expect(batch.hashes[i] == indexHash(batch.id(i)))
                    }
                    stage.recycle(batch)
                }
                bulkOutcome = "ok, \(reader.skippedRows) skipped"
            } catch { bulkOutcome = "\(error)" }
        }
        var single: [String] = [], singleOutcome = ""
        do {
            let reader = try open()
            var parser = try EventRowParser(reader: reader, events: [])
            while let row = try parser.next() {
                single.append(described(
                    row.userID, String(decoding: row.eventName, as: UTF8.self), String(decoding: row.categoryName, as: UTF8.self), row.label, row.line))
            }
            singleOutcome = "ok, \(reader.skippedRows) skipped"
        } catch { singleOutcome = "\(error)" }
        if skip { #expect(single.count > 5_000) }
        #expect(bulk == single)
        #expect(bulkOutcome == singleOutcome)
    }

    /// The compact table counts a group of events a part at a time, out of file order: the
    /// counts, and the error of a bad input (the earliest label conflict, or a bad row before
    /// it), are those of counting in file order, whatever the groups' size. Random inputs,
    /// each checked against a plain reading of the rules.
    @Test func countingAPartAtATimeMatchesFileOrder() throws {
        var generator = SplitMix64(seed: 20)
        for round in 0..<40 {
            let users = 1 + Int(generator.next() % 300)
            // Every fifth input spans several batches of the parsing thread (4,096 rows), so
            // a group is counted a batch at a time, stopping mid-part, while the next fills.
            let rows = round % 5 == 4 ? 5_000 + Int(generator.next() % 20_000) : 1 + Int(generator.next() % 3_000)
            var text = "UserId,Event,Category,Fake\n"
            var first: [String: Int] = [:]
            var expected: ToolError?
            for row in 0..<rows {
                let user = Int(generator.next() % UInt64(users))
                // Ids of 1 to 40 bytes: some fit a slot's 16 bytes, some do not.
                let id = "u\(user)" + String(repeating: "x", count: user % 40)
                var label = user % 7 == 0 ? 1 : 0
                if generator.next() % UInt64(4 * rows) == 0 { label = 1 - label }  // now and then a conflict
                let line = row + 2
                if round % 4 == 3 && generator.next() % UInt64(3 * rows) == 0 {
                    text += "\(id),click_ad\n"
                    expected = expected ?? ToolError.data("expected 4 fields, found 2", at: InputLocation(file: "events.csv", line: line))
                    continue
                }
                text += "\(id),e\(generator.next() % 5),c\(generator.next() % (round % 2 == 0 ? 6 : 9)),\(label)\n"
                if let previous = first[id], previous != label {
                    expected = expected ?? ToolError.data(
                        "Fake changes within user '\(id)' (\(previous) before, \(label) here)", at: InputLocation(file: "events.csv", line: line))
                }
                first[id] = first[id] ?? label
            }
            let reference = expected == nil ? try featurize(text, FeaturizeOptions(oneThread: true)) : nil
            for capacity in [nil, 2, 6, 64, EventsByPart.defaultPartCapacity] {
                var options = FeaturizeOptions(oneThread: capacity == nil)
                if let capacity { options.partCapacity = capacity }
                if let expected {
                    #expect(throws: expected) { _ = try featurize(text, options) }
                } else if let reference {
                    let result = try featurize(text, options)
                    #expect(result.header == reference.header)
                    #expect(result.rows == reference.rows)
                    #expect(result.rows.map { Int($0["total_events"]!)! }.reduce(0, +) == rows)
                }
            }
        }
    }

    /// A request parses on its own thread's turn (`oneThread`): a label conflict in the rows
    /// before a bad row, in the same batch, is the error, as from a tool's run.
    @Test func aRequestReportsAConflictBeforeABadRowInTheSameBatch() {
        let text = "UserId,Event,Category,Fake\nA,e,c,0\nA,e,c,1\nB,e\n"
        for options in [FeaturizeOptions(oneThread: true), FeaturizeOptions()] {
            #expect(throws: ToolError.data("Fake changes within user 'A' (0 before, 1 here)", at: InputLocation(file: "events.csv", line: 3))) {
                _ = try featurize(text, options)
            }
        }
    }

    /// A held event's length field stops at 0xFFFF: the length of an id of 64 KiB or more
    /// is read back from where the id is kept, among ids that are prefixes of each other.
    @Test func idsOf64KiBAndMoreAreCountedAlike() throws {
        var text = "UserId,Event,Category,Fake\n"
        let lengths = [17, 65_534, 65_535, 65_536, 70_000]
        for round in 0..<3 {
            for (i, length) in lengths.enumerated() where i >= round {
                text += String(repeating: "y", count: length) + ",e\(i),c\(round),0\n"
            }
        }
        let rows = try featurizedAlikeInBothCounters(text).rows
        #expect(rows.map { $0["UserId"]!.utf8.count } == lengths)
        #expect(rows.map { $0["total_events"]! } == ["1", "2", "3", "3", "3"])
    }

    @Test func theCompactCountersHandOverWithoutLosingACount() throws {
        var text = "UserId,Event,Category,Fake\n"
        for i in 0..<70_000 { text += "U\(i % 100 == 0 ? 1 : 2),click_ad,Jobs,0\n" }
        for i in 0..<3_000 { text += "user-with-a-long-id-\(i % 50),e\(i % 11),c\(i % 9),1\n" }
        let compact = try featurizedAlikeInBothCounters(text)
        #expect(compact.rows.first { $0["UserId"] == "U2" }?["total_events"] == "69300")
        #expect(compact.rows.count == 52)
    }

    /// The compact table holds 8 event types, the general counters start with room for 6:
    /// a 7th and 8th type, with no hand-over mid-run, grow the general counters as the
    /// table's users are moved into them, and every count and pair comes along.
    @Test func sevenAndEightTypesMoveOutOfTheCompactTable() throws {
        var text = "UserId,Event,Category,Fake\n"
        for i in 0..<2_000 { text += "U\(i % 37),t\(i % 8),c\(i % 5),\(i % 37 == 3 ? 1 : 0)\n" }
        for i in 0..<50 { text += "V\(i),t\(i % 7),c\(i % 6),0\n" }
        let compact = try featurizedAlikeInBothCounters(text)
        #expect(compact.rows.count == 87)
        #expect(compact.rows.first { $0["UserId"] == "U0" }?["t0"] == "7")
        #expect(compact.rows.first { $0["UserId"] == "V6" }?["unique_event_category_pairs"] == "1")
    }

    @Test func idsSharingTheirFirst16BytesStayApart() throws {
        var text = "UserId,Event,Category\n"
        let ids = ["a", "ab", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnopr", "abcdefghijklmnopqr"]
        for round in 0..<3 { for (n, id) in ids.enumerated() where n >= round { text += "\(id),click_ad,Jobs\n" } }
        let rows = try featurize(text).rows
        #expect(rows.map { $0["UserId"]! } == ids.sorted())
        #expect(rows.map { $0["total_events"]! } == ids.sorted().map { id in String(min(ids.firstIndex(of: id)!, 2) + 1) })
        #expect(try featurize(text, FeaturizeOptions(oneThread: true)).rows == rows)
    }

    @Test func aBadRowLateInTheInputNamesItsLine() {
        let text = bigEvents(rows: 9_000) + "U1,click_ad\n" + bigEvents(rows: 10).dropFirst(27)
        #expect(throws: ToolError.data("expected 4 fields, found 2", at: InputLocation(file: "events.csv", line: 9_002))) {
            _ = try featurize(text)
        }
    }

    @Test func aLabelConflictBeforeABadRowIsReportedFirst() {
        let text = bigEvents(rows: 5_000) + "U5,click_ad,Jobs,0\n" + "U1,click_ad\n"
        #expect(throws: ToolError.data("Fake changes within user 'U5' (1 before, 0 here)", at: InputLocation(file: "events.csv", line: 5_002))) {
            _ = try featurize(text)
        }
    }

    @Test func anErrorWhileDecodingZstdStopsCleanly() throws {
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("e.csv.zst").path
        try writeOutput(path, compress: nil, "UserId,Event,Category\nA,click_ad\n" + String(repeating: "B,click_ad,Jobs\n", count: 400_000))
        let output = try ByteOutput(path: folder.appendingPathComponent("out.csv").path)
        #expect(throws: ToolError.data("expected 3 fields, found 2", at: InputLocation(file: path, line: 2))) {
            _ = try Featurizer(options: FeaturizeOptions()).run(reader: TableReader(ByteInput(path: path)), output: output, format: .csv)
        }
    }
}

/// Pair bits survive every re-layout of the counters: distinct (type, category) pairs equal
/// a set's count, with types and categories appearing in any order up to the limits.
@Test func distinctPairsSurviveEveryGrowth() {
    var generator = SplitMix64(seed: 11)
    let counts = EventCounts(users: 4)
    var pairs: [Set<Int>] = []
    for _ in 0..<60 { pairs.append([]); _ = counts.addUser() }
    for step in 0..<20_000 {
        let user = Int(generator.next() % 60)
        // Types and categories widen as the stream goes on, forcing several growths.
        let types = min(64, 2 + step / 300), categories = min(64, 2 + step / 350)
        let event = Int(generator.next() % UInt64(types)), category = Int(generator.next() % UInt64(categories))
        counts.add(user: user, event: event, category: category)
        pairs[user].insert(event * 64 + category)
    }
    #expect(counts.eventCapacity == 64 && counts.categoryCapacity == 64)  // 6 → 12 → 24 → 48 → 64
    for user in 0..<60 { #expect(counts.distinctPairs(user: user) == pairs[user].count, "user \(user)") }
}

/// A request whose users × event types would need more counters than the budget fails fast
/// as over a limit (fu-serve: 413), naming the line.
@Test func counterBudgetFailsARequestFast() throws {
    let model = try Model.load(fuzzCorpus("model").appendingPathComponent("model.json").path)
    var rows = "UserId,Event,Category\n"
    for user in 0..<3000 { rows += "U\(user),click_ad,Jobs\n" }
    for type in 0..<63 { rows += "Z,t\(type),c\(type)\n" }  // 64 types and 64 categories in all
    let small = EventBatchLimits(maxBytes: 1 << 24, maxEvents: 100_000, maxCounterBytes: 1 << 20)
    #expect(throws: BatchFailure.tooLarge(
        "the counters of 3,001 users with these many event types and categories need more than 1 MiB (the limit): send fewer users at once (line 3013)")) {
        try scoreEventBatch(Array(rows.utf8), model: model, limits: small)
    }
    // Within the default budget the same request is scored.
    let scored = try scoreEventBatch(Array(rows.utf8), model: model, limits: EventBatchLimits(maxBytes: 1 << 24, maxEvents: 100_000))
    #expect(scored.ids.count == 3001)
}

/// Percentiles as NumPy's default (linear): np.percentile([1, 2, 3, 4, 10], [50, 90]) is
/// [3.0, 7.6]; np.percentile([5, 1], 90) is 4.6.
@Test func percentilesInterpolateAsNumPy() {
    #expect(percentile([1, 2, 3, 4, 10], 0.5) == 3)
    #expect(abs(percentile([1, 2, 3, 4, 10], 0.9) - 7.6) < 1e-12)
    #expect(abs(percentile([1, 5], 0.9) - 4.6) < 1e-12)
    #expect(percentile([7], 0.9) == 7)
}

/// Past their limit the counters allocate nothing (a million users with 64 types took
/// 2.4 GB and half a minute before the 413: the budget was checked after the growth):
/// old and new block together stay within it, and the growth that would pass it is refused.
@Test func countersNeverGrowPastTheirLimit() {
    let counts = EventCounts(users: 1 << 12, limit: 1 << 20)
    for _ in 0..<(1 << 12) { #expect(counts.addUser()) }  // 4,096 users × 64 bytes (32-bit counts: a budget)
    #expect(counts.counterBytes == 4 && counts.bytes == 1 << 18)
    counts.add(user: 0, event: 7, category: 5)  // a 7th type: 128 bytes a user
    #expect(!counts.overLimit && counts.bytes == 1 << 19)
    counts.add(user: 1, event: 63, category: 63)  // 64 × 64: 4,096 × 1 KiB, refused
    #expect(counts.overLimit && counts.bytes == 1 << 19)
    #expect(counts.eventCount(user: 1, event: 63) == 0 && counts.eventCount(user: 0, event: 7) == 1)
    let users = EventCounts(users: 1 << 13, limit: 1 << 20)
    for _ in 0..<(1 << 13) { #expect(users.addUser()) }  // 512 KiB
    #expect(!users.addUser() && users.overLimit && users.users == 1 << 13)  // 512 KiB + 1 MiB to double
}

/// A stream's counters are made for many more users than it holds (`StreamScorer.reservedSlots`):
/// a re-layout for a seventh type (and later ones) keeps every held user's counts and pairs, and users added
/// after it start from zero.
@Test func aReservedBlockKeepsItsUsersThroughARelayout() {
    let counts = EventCounts(users: 1 << 16)
    for _ in 0..<3 { #expect(counts.addUser()) }
    counts.add(user: 0, event: 1, category: 2)
    counts.add(user: 2, event: 7, category: 5)
    counts.add(user: 2, event: 7, category: 5)
    counts.add(user: 1, event: 20, category: 9)  // past 12 types and 6 categories: re-laid out again
    for _ in 0..<5 { #expect(counts.addUser()) }
    counts.add(user: 7, event: 3, category: 0)
    #expect(counts.eventCount(user: 0, event: 1) == 1 && counts.categoryCount(user: 0, category: 2) == 1)
    #expect(counts.eventCount(user: 2, event: 7) == 2 && counts.categoryCount(user: 2, category: 5) == 2)
    #expect(counts.eventCount(user: 1, event: 20) == 1 && counts.categoryCount(user: 1, category: 9) == 1)
    #expect(counts.pairs(user: 2).map { [$0.event, $0.category] } == [[7, 5]] && counts.distinctPairs(user: 1) == 1)
    #expect((3..<7).allSatisfy { user in counts.totalEvents(user: user) == 0 && counts.distinctPairs(user: user) == 0 })
    #expect(counts.totalEvents(user: 7) == 1 && counts.pairs(user: 7).map { [$0.event, $0.category] } == [[3, 0]])
}

/// Counts are 16-bit until one passes 65,535; then every user's counters widen to 32 bits
/// (one re-layout), keeping each user's counts and pairs; a saved count past 65,535 restores.
@Test func countsPastSixteenBitsWidenEveryUser() {
    let counts = EventCounts(users: 2)
    for _ in 0..<5 { counts.addUser() }
    for user in 0..<5 { for k in 0..<(user + 1) { counts.add(user: user, event: k % 3, category: user) } }
    for _ in 0..<70_000 { counts.add(user: 2, event: 4, category: 5) }
    #expect(counts.counterBytes == 4)
    #expect(counts.eventCount(user: 2, event: 4) == 70_000 && counts.categoryCount(user: 2, category: 5) == 70_000)
    #expect(counts.totalEvents(user: 2) == 70_003)
    for user in 0..<5 {
        #expect(counts.categoryCount(user: user, category: user) == user + 1)
        #expect(counts.eventCount(user: user, event: 0) == (user + 3) / 3)
        #expect(counts.distinctPairs(user: user) == min(user + 1, 3) + (user == 2 ? 1 : 0))
    }
    let restored = EventCounts(users: 1)
    restored.addUser()
    restored.restore(user: 0, events: [(1, 100_000)], categories: [(0, 100_000)], pairs: [(1, 0)])
    #expect(restored.counterBytes == 4 && restored.eventCount(user: 0, event: 1) == 100_000)
    #expect(restored.pairs(user: 0).map { [$0.event, $0.category] } == [[1, 0]])
}

/// Counters with a byte budget (a server's request) are 32-bit from the start: a count past
/// 65,535 then needs no re-layout, whose new block beside the old could pass the budget and
/// refuse a request that fits (a 413 naming types and categories, not the count).
@Test func budgetedCountersCountPastSixteenBitsWithoutARelayout() {
    let counts = EventCounts(users: 1 << 12, limit: 1 << 18)
    for _ in 0..<(1 << 12) { #expect(counts.addUser()) }  // 4,096 users × 64 bytes: the budget
    for _ in 0..<70_000 { counts.add(user: 9, event: 2, category: 3) }
    #expect(!counts.overLimit && counts.eventCount(user: 9, event: 2) == 70_000 && counts.bytes == 1 << 18)
}
