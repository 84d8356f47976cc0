import Foundation
import FuzzSupport
import Testing
@testable import FakeUserKit

/// Every parser of outside bytes, fuzzed in process (Tests/FuzzSupport): a trap stops the
/// run, and an error other than the parser's own (a ToolError, a BatchFailure: what becomes
/// exit 65 or HTTP 4xx) fails the test. FU_FUZZ_SECONDS sets each target's time.
@Suite(.serialized) struct Fuzz {
    let model = try! Model.load(fuzzCorpus("model").appendingPathComponent("model.json").path)

    /// The outcome of a throwing parse: success, or the first words of the error.
    func outcome(_ body: () throws -> Void) throws -> String {
        do {
            try body()
            return "ok"
        } catch let error as ToolError {
            #expect(error.status == .dataError, "\(error)")
            return String(error.message.prefix(24))
        } catch let error as TooManyRows {
            return "rows \(error.limit)"
        }
    }

    @Test func eventTables() throws {
        var fuzzer = try Fuzzer(name: "table", corpusFolder: fuzzCorpus("table"), dictionary: [
            "UserId", "Event", "Category", "Fake", ",", "\"", "\"\"", "\r\n", "\n", "\u{FEFF}", "{", "}", ":", "null", "1e308", "-0", "total_events",
        ])
        // On one thread (a request's way) and on two counting by parts (the tool's, whose
        // parser hashes the ids of plain input, and whose counting thread decodes zstd
        // ahead): the same output, or the same error.
        try fuzzer.run { bytes in
            func featurized(oneThread: Bool) throws -> (outcome: String, output: [UInt8]) {
                let output = ByteOutput(inMemory: ())
                let result = try outcome {
                    let reader = try TableReader(try ByteInput(bytes: bytes, name: "fuzz", readAhead: oneThread))
                    _ = try Featurizer(options: FeaturizeOptions(oneThread: oneThread)).run(reader: reader, output: output, format: .csv)
                }
                return (result, result == "ok" ? try output.collected() : [])
            }
            let (request, tool) = (try featurized(oneThread: true), try featurized(oneThread: false))
            // A damaged zstd stream fails both ways, but whether its damage or a bad row
            // shows first depends on how much each way had decoded (1 MiB or 128 KiB).
            if ZstdDecoder.isZstdMagic(bytes) && request.outcome != "ok" && tool.outcome != "ok" { return "zstd: \(request.outcome)" }
            #expect(request.outcome == tool.outcome && request.output == tool.output, "\(request.outcome) | \(tool.outcome)")
            return request.outcome
        }
    }

    /// fu-watch's saved state: loaded, then carried on by a few events.
    @Test func streamStates() throws {
        var fuzzer = try Fuzzer(name: "state", corpusFolder: fuzzCorpus("state"), dictionary: [
            "{", "}", "[", "]", ",", ":", "\"users\"", "\"events\"", "\"pairs\"", "\"categories\"", "\"last_seen\"", "\"decision\"", "\"block\"", "-1", "0", "64", "4294967296", "true", "null",
        ])
        let events = Array("UserId,Event,Category\nA,click_ad,Jobs\nZ,new_type,New\nB,send_sms,Motor\n".utf8)
        try fuzzer.run { bytes in
            try outcome {
                var options = WatchOptions()
                options.emit = .final  // UserId,Fake,Probability: every user, its probability last
                let scorer = try StreamScorer(model: model, options: options)
                try scorer.load(bytes: bytes, name: "fuzz")
                let output = ByteOutput(inMemory: ())
                _ = try scorer.run(reader: try TableReader(try ByteInput(bytes: events, name: "events")), output: output)
                let lines = String(decoding: try output.collected(), as: UTF8.self).split(separator: "\n").dropFirst()
                #expect(lines.allSatisfy { line in Double(line.split(separator: ",").last ?? "").map { (0...1).contains($0) } ?? false })
            }
        }
    }

    /// fu-watch's blocks of rows already read: a stream whose reads bring a few bytes at a
    /// time (blocks then stop at the buffer's edge mid-row) is answered as the same bytes
    /// read at once, line for line, error for error. Plain text only: in a damaged zstd
    /// stream, how much decodes before the damage shows depends on the read sizes.
    @Test func watchedStreams() throws {
        var fuzzer = try Fuzzer(name: "watch", corpusFolder: fuzzCorpus("table"), dictionary: [
            "UserId", "Event", "Category", ",", "\"", "\r\n", "\n", "{", "}", ":", "A", "B", "click_ad", "send_sms", "Jobs",
        ])
        try fuzzer.run { bytes in
            if ZstdDecoder.isZstdMagic(bytes) { return "zstd" }
            func watch(bufferBytes: Int) throws -> (answers: [UInt8], outcome: String) {
                var options = WatchOptions()
                options.emit = .every
                let scorer = try StreamScorer(model: model, options: options)
                let output = ByteOutput(inMemory: ())
                let outcome = try self.outcome {
                    let reader = try TableReader(
                        try ByteInput(bytes: bytes, name: "fuzz"), skipBadRows: bytes.count % 2 == 0, maxRecordBytes: 1 << 16, bufferBytes: bufferBytes)
                    _ = try scorer.run(reader: reader, output: output)
                }
                return (try output.collected(), outcome)
            }
            let whole = try watch(bufferBytes: 1 << 20), pieces = try watch(bufferBytes: 7)
            #expect(pieces.answers == whole.answers && pieces.outcome == whole.outcome, "\(pieces.outcome) vs \(whole.outcome)")
            return whole.outcome
        }
    }

    @Test func featureTables() throws {
        var fuzzer = try Fuzzer(name: "features", corpusFolder: fuzzCorpus("table"), dictionary: [
            "UserId", "Fake", ",", "1e308", "-1.7e308", "nan", "inf", "0x1p3", "1e-400", "\n", "\"",
        ])
        try fuzzer.run { bytes in
            try outcome {
                let reader = try TableReader(try ByteInput(bytes: bytes, name: "fuzz"), skipBadRows: bytes.count % 2 == 0)
                let table = try FeatureTable.read(reader)
                #expect(table.values.allSatisfy { $0.isFinite })
            }
        }
    }

    /// Request bodies as fu-serve scores them: CSV, JSON Lines, JSON arrays, zstd.
    @Test func requestBodies() throws {
        var fuzzer = try Fuzzer(name: "request", corpusFolder: fuzzCorpus("request"), dictionary: [
            "[", "]", "{", "}", ",", ":", "\"UserId\"", "\"Event\"", "\"Category\"", "\\u0000", "\\ud800", "\n", "1e999", "true",
        ])
        let limits = EventBatchLimits(maxBytes: 1 << 20, maxEvents: 10_000)
        try fuzzer.run { bytes in
            do {
                let batch = try scoreEventBatch(bytes, model: model, limits: limits)
                #expect(batch.probabilities.allSatisfy { (0...1).contains($0) })
                _ = try batch.rendered(as: .jsonArray)
                return "ok"
            } catch let failure as BatchFailure {
                return String(failure.message.prefix(24))
            }
        }
    }

    /// Request bodies as `POST /events` takes them, into one stream that carries on from
    /// input to input: the bound holds, a refused batch changes nothing, and every answer is
    /// a probability.
    @Test func streamBatches() throws {
        var fuzzer = try Fuzzer(name: "events", corpusFolder: fuzzCorpus("request"), dictionary: [
            "[", "]", "{", "}", ",", ":", "\"UserId\"", "\"Event\"", "\"Category\"", "\n", "A", "B", "click_ad", "send_sms",
        ])
        var options = WatchOptions()
        options.maxUsers = 50
        let scorer = try StreamScorer(model: model, options: options)
        let limits = EventBatchLimits(maxBytes: 1 << 20, maxEvents: 10_000)
        try fuzzer.run { bytes in
            let before = (scorer.consumed, scorer.userCount)
            do {
                let scores = try readEventBatch(bytes, limits: limits, noEvents: { scorer.noScores(explain: nil) }) { reader, _ in
                    try scorer.ingest(reader: reader, maxEvents: limits.maxEvents, explain: nil)
                }
                #expect(scores.users.allSatisfy { (0...1).contains($0.probability) && $0.events >= 1 })
                #expect(scorer.consumed == before.0 + scores.batchEvents)
                return "ok"
            } catch let failure as BatchFailure {
                #expect(scorer.consumed == before.0 && scorer.userCount == before.1, "a refused batch changed the state")
                return String(failure.message.prefix(24))
            }
        }
        #expect(scorer.userCount <= 50 && scorer.flaggedCount <= scorer.userCount)
    }

    @Test func multipartBodies() throws {
        var fuzzer = try Fuzzer(name: "multipart", corpusFolder: fuzzCorpus("multipart"), dictionary: [
            "--B", "--B--", "\r\n", "\n", "Content-Disposition: form-data; name=\"file\"", ": ", "\u{E9}", "\u{FEFF}",
        ])
        try fuzzer.run { bytes in
            do {
                let form = try MultipartForm(bytes, boundary: "B")
                for part in form.parts { #expect(part.content.lowerBound >= 0 && part.content.upperBound <= bytes.count) }
                return "parts \(form.parts.count)"
            } catch let failure as MultipartForm.Failure {
                return String(failure.message.prefix(24))
            }
        }
    }

    @Test func modelFiles() throws {
        var fuzzer = try Fuzzer(name: "model", corpusFolder: fuzzCorpus("model"), dictionary: [
            "null", "1e999", "-", "[]", "{}", "\"\"", ",", "\\u", "NaN", "0", "\"fu-model\"", "[[[[",
        ])
        try fuzzer.run { bytes in
            try outcome {
                let parsed = try Model.parse(bytes, name: "fuzz")
                // A model the loader takes scores finite features to a probability.
                let row = parsed.features.map { _ in 1.0 }
                let p = row.withUnsafeBufferPointer { parsed.probability($0) }
                #expect((0...1).contains(p))
                // And, with a training distribution, a PSI of 0 or more for every feature.
                if parsed.trainingDistribution != nil {
                    let table = FeatureTable(ids: ["a", "b"], labels: nil, names: parsed.features, values: row + row.map { _ in -1e300 })
                    let report = try DriftReport(model: parsed, table: table)
                    #expect(report.measured.allSatisfy { $0.psi!.isFinite && $0.psi! >= 0 })
                }
            }
        }
    }
}
