import Foundation
import Testing
@testable import FakeUserKit

/// fu-partition and fu-merge in the library: bucket names, rows by the shard hash, header
/// plans, the merge order and its errors.
@Suite struct Shuffle {
    let events = #"""
        UserId,Event,Category,Fake
        B,click_ad,Jobs,1
        A,send_email,Motor,0
        C,"send,sms",Jobs,0
        B,send_email,Jobs,1
        D,phone_call,"Real ""State""",0
        A,send_email,Jobs,0

        """#

    func partition(_ text: String, buckets: Int, compress: Bool = false, skipBadRows: Bool = false) throws -> (TemporaryFolder, PartitionSummary) {
        let folder = try temporaryFolder()
        let input = folder.appendingPathComponent("events.csv")
        try Data(text.utf8).write(to: input)
        let options = PartitionOptions(
            buckets: buckets, directory: folder.appendingPathComponent("out").path, compress: compress, skipBadRows: skipBadRows)
        return (folder, try Partitioner(options: options).run(inputs: [input.path]))
    }

    @Test func bucketNamesSortInOrder() {
        #expect(PartitionOptions.bucketName(2, of: 4, compressed: true) == "bucket-00002-of-00004.csv.zst")
        #expect(PartitionOptions.bucketName(11, of: 256, compressed: false) == "bucket-00011-of-00256.csv")
    }

    @Test func rowsGoToTheShardOfTheirUser() throws {
        let (folder, summary) = try partition(events, buckets: 3)
        #expect(summary.rows == 6)
        #expect(summary.bucketRows.reduce(0, +) == 6)
        for index in 0..<3 {
            let text = try readAll(folder.appendingPathComponent("out/" + PartitionOptions.bucketName(index, of: 3, compressed: false)).path)
            let table = try readTable(text)
            #expect(table.header == ["UserId", "Event", "Category", "Fake"])
            let shard = try Shard(index: index, count: 3)
            #expect(table.rows.allSatisfy { shard.contains(hash: stableHash($0[0])) })
            #expect(table.rows.count == summary.bucketRows[index])
        }
        // Quoted fields come back as the same values, in input order within a bucket.
        let all = try (0..<3).flatMap { index in
            try readTable(readAll(folder.appendingPathComponent("out/" + PartitionOptions.bucketName(index, of: 3, compressed: false)).path)).rows
        }
        #expect(all.contains(["C", "send,sms", "Jobs", "0"]))
        #expect(all.contains(["D", "phone_call", "Real \"State\"", "0"]))
        #expect(all.filter { $0[0] == "A" }.map { $0[2] } == ["Motor", "Jobs"])
    }

    @Test func oneBucketIsTheInputInOrder() throws {
        let (folder, _) = try partition(events, buckets: 1, compress: true)
        let table = try readTable(readAll(folder.appendingPathComponent("out/bucket-00000-of-00001.csv.zst").path))
        #expect(table.rows.map { $0[0] } == ["B", "A", "C", "B", "D", "A"])
    }

    @Test func badRowsFailOrAreSkippedAsInFeaturize() throws {
        let bad = "UserId,Event,Category\nA,click_ad,Jobs\n,click_ad,Jobs\nB,send_sms\n"
        #expect(throws: ToolError.data("empty UserId", at: InputLocation(file: "", line: 3))) {
            do { _ = try partition(bad, buckets: 2) } catch var error as ToolError {
                error.location?.file = ""
                throw error
            }
        }
        let (_, summary) = try partition(bad, buckets: 2, skipBadRows: true)
        #expect(summary.rows == 1 && summary.skippedRows == 2)
    }

    @Test func failedRunLeavesNoBucketsAndNoNewFolder() throws {
        let folder = try temporaryFolder()
        let input = folder.appendingPathComponent("events.csv")
        try Data("UserId,Event\nA,click_ad\n".utf8).write(to: input)
        let out = folder.appendingPathComponent("out").path
        #expect(throws: ToolError.self) {
            _ = try Partitioner(options: PartitionOptions(buckets: 2, directory: out)).run(inputs: [input.path])
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func inputsMustAgreeOnFake() throws {
        let folder = try temporaryFolder()
        let a = folder.appendingPathComponent("a.csv").path
        let b = folder.appendingPathComponent("b.csv").path
        try Data("UserId,Event,Category,Fake\nA,click_ad,Jobs,0\n".utf8).write(to: URL(fileURLWithPath: a))
        try Data("UserId,Event,Category\nB,click_ad,Jobs\n".utf8).write(to: URL(fileURLWithPath: b))
        let options = PartitionOptions(buckets: 2, directory: folder.appendingPathComponent("out").path)
        #expect(throws: ToolError.data("\(a) has a Fake column and \(b) has none; all inputs must agree", at: InputLocation(file: b, line: 1))) {
            _ = try Partitioner(options: options).run(inputs: [a, b])
        }
    }

    @Test func directoriesExpandToTheirFilesByName() throws {
        let folder = try temporaryFolder()
        for name in ["b.csv", "a.csv", ".hidden.tmp", "c.csv.zst"] {
            try Data("x".utf8).write(to: folder.appendingPathComponent(name))
        }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let expanded = try expandInputs([folder.path, "other.csv"])
        #expect(expanded == ["a.csv", "b.csv", "c.csv.zst"].map { folder.path + "/" + $0 } + ["other.csv"])
        #expect(try expandInputs([]) == ["-"])
        let empty = folder.appendingPathComponent("sub").path
        #expect(throws: ToolError(.noInput, "no input files in directory \(empty)")) { try expandInputs([empty]) }
    }

    // MARK: Merge plans

    let reference = ["total_events", "click_ad_ratio", "send_email_ratio", "unique_categories", "category_repeat_ratio"]
    let extended = ["click_ratio", "unique_events", "event_entropy", "category_entropy", "top_category_share", "unique_event_category_pairs"]

    func featureHeader(_ types: [String], fake: Bool = true) -> [String] {
        ["UserId"] + (fake ? ["Fake"] : []) + FeatureSet.columnNames(types: types)
    }

    @Test func featureHeadersAreRecognised() {
        let header = featureHeader(["click_ad", "phone_call", "send_email"])
        #expect(header == ["UserId", "Fake"] + reference + ["click_ad", "phone_call", "send_email", "phone_call_ratio"] + extended)
        #expect(FeatureLayout(header: header)?.leading == ["UserId", "Fake"])
        #expect(FeatureLayout(header: header)?.types == ["click_ad", "phone_call", "send_email"])
        #expect(FeatureLayout(header: featureHeader([], fake: false))?.leading == ["UserId"])
        #expect(FeatureLayout(header: featureHeader([], fake: false))?.types == [])
        // A type whose name ends in _ratio is still read right.
        #expect(FeatureLayout(header: featureHeader(["a", "b_ratio"]))?.types == ["a", "b_ratio"])
        // --events in another order, or not a feature table: not a layout to fill.
        #expect(FeatureLayout(header: ["UserId", "Fake"] + reference + ["send_sms", "click_ad", "send_sms_ratio"] + extended) == nil)
        #expect(FeatureLayout(header: ["UserId", "Event", "Category"]) == nil)
    }

    @Test func missingPerTypeColumnsAreFilledInOneFeaturizeOrder() throws {
        let a = featureHeader(["click_ad", "send_sms"])
        let b = featureHeader(["phone_call", "send_email"])
        let plan = try MergePlan.make(headers: [a, b], names: ["a", "b"])
        #expect(plan.columns == featureHeader(["click_ad", "phone_call", "send_email", "send_sms"]))
        #expect(plan.sources[0][plan.columns.firstIndex(of: "phone_call")!] == nil)
        #expect(plan.sources[0][plan.columns.firstIndex(of: "send_sms_ratio")!] == a.firstIndex(of: "send_sms_ratio"))
        #expect(plan.sources[1][plan.columns.firstIndex(of: "send_sms_ratio")!] == nil)
        #expect(plan.sources[1][0] == 0)
    }

    @Test func headersThatCannotBeReconciledAreErrors() {
        #expect(throws: ToolError.data(
            "header does not match a's (missing 'Fake'); merge tables made by the same tool and options",
            at: InputLocation(file: "b", line: 1))) {
            try MergePlan.make(headers: [featureHeader(["click_ad"]), featureHeader(["click_ad"], fake: false)], names: ["a", "b"])
        }
        #expect(throws: ToolError.data(
            "header does not match a's (the same columns in another order); merge tables made by the same tool and options",
            at: InputLocation(file: "b", line: 1))) {
            try MergePlan.make(headers: [["UserId", "x", "y"], ["UserId", "y", "x"]], names: ["a", "b"])
        }
    }

    // MARK: Merging

    func merge(_ tables: [String], format: TableFormat = .csv) throws -> String {
        let readers = try tables.enumerated().map { try TableReader(ByteInput(bytes: Array($1.utf8), name: "t\($0).csv")) }
        let output = ByteOutput(inMemory: ())
        _ = try Merger().run(readers: readers, output: output, format: format)
        return String(decoding: try output.collected(), as: UTF8.self)
    }

    @Test func mergesByUserIdInByteOrderStably() throws {
        let merged = try merge([
            "UserId,v\nA,1\nC,1\nc,1\n",
            "UserId,v\nB,2\nC,2\n",
            "UserId,v\n",
            "UserId,v\nAB,4\nZ,4\n",
        ])
        #expect(merged == "UserId,v\nA,1\nAB,4\nB,2\nC,1\nC,2\nZ,4\nc,1\n")
    }

    @Test func unsortedInputNamesItsLine() {
        #expect(throws: ToolError.data(
            "input is not sorted by UserId ('A' after 'B'); fu-featurize writes sorted tables", at: InputLocation(file: "t1.csv", line: 3))) {
            _ = try merge(["UserId,v\nA,1\n", "UserId,v\nB,2\nA,2\n"])
        }
    }

    @Test func jsonLinesInAndOutKeepUserIdsAsText() throws {
        let merged = try merge(["{\"UserId\":\"0123\",\"n\":1}\n", "UserId,n\n0007,2\n"], format: .jsonl)
        #expect(merged == "{\"UserId\":\"0007\",\"n\":2}\n{\"UserId\":\"0123\",\"n\":1}\n")
    }

    @Test func partitionFeaturizeMergeIsOneFeaturize() throws {
        // A rare type (send_sms: one user) is missing from most buckets.
        var text = "UserId,Event,Category,Fake\n"
        for user in 0..<200 {
            let id = String(user * 7919 % 1000, radix: 16)
            for event in 0..<(user % 5 + 1) {
                let type = user == 17 ? "send_sms" : ["click_ad", "send_email", "phone_call"][(user + event) % 3]
                text += "\(id),\(type),\(["Jobs", "Motor", "Leisure"][(user * event) % 3]),\(user % 9 == 0 ? 1 : 0)\n"
            }
        }
        let whole = ByteOutput(inMemory: ())
        _ = try Featurizer(options: FeaturizeOptions()).run(reader: TableReader(ByteInput(bytes: Array(text.utf8), name: "e")), output: whole, format: .csv)
        let (folder, _) = try partition(text, buckets: 5)
        let tables = try (0..<5).map { index -> String in
            let reader = try TableReader(ByteInput(path: folder.appendingPathComponent("out/" + PartitionOptions.bucketName(index, of: 5, compressed: false)).path))
            let output = ByteOutput(inMemory: ())
            _ = try Featurizer(options: FeaturizeOptions()).run(reader: reader, output: output, format: .csv)
            return String(decoding: try output.collected(), as: UTF8.self)
        }
        #expect(tables.filter { $0.contains("send_sms") }.count == 1)
        #expect(try merge(tables) == String(decoding: try whole.collected(), as: UTF8.self))
    }
}

/// fu-partition's encoders fit their budget at any bucket count and level.
@Test func partitionLevelsFitTheEncoderBudget() {
    for buckets in [1, 4, 16, 64, 256] {
        for level in Int32(1)...19 {
            let options = PartitionOptions(buckets: buckets, directory: "b", level: level)
            let chosen = options.effectiveLevel
            #expect(chosen <= level)
            #expect(chosen == 1 || buckets * PartitionOptions.bucketMemory(level: chosen) <= PartitionOptions.encoderMemoryBudget)
            // Lowered only when needed.
            if chosen < level { #expect(buckets * PartitionOptions.bucketMemory(level: chosen + 1) > PartitionOptions.encoderMemoryBudget) }
        }
    }
    #expect(PartitionOptions(buckets: 256, directory: "b", level: 19).effectiveLevel < 19)
    #expect(PartitionOptions(buckets: 1, directory: "b", level: 19).effectiveLevel == 19)
}
