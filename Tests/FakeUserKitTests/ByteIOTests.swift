import Foundation
import Synchronization
import Testing
@testable import FakeUserKit

/// A fresh temporary folder per test, removed with its last reference.
func temporaryFolder() throws -> TemporaryFolder { try TemporaryFolder() }

final class TemporaryFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fu-test-\(UUID().uuidString)")
    var path: String { url.path }

    init() throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func appendingPathComponent(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

func writeOutput(_ path: String, compress: Bool?, _ text: String) throws {
    let output = try ByteOutput(path: path, compress: compress)
    try output.write(text)
    try output.commit()
}

func readAll(_ path: String) throws -> String {
    String(decoding: try ByteInput(path: path).readAll(), as: UTF8.self)
}

@Suite struct ByteIO {
    @Test func zstdRoundTripByFileName() throws {
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("x.csv.zst").path
        let text = String(repeating: "UserId,Event\nAB,click_ad\n", count: 50_000)
        try writeOutput(path, compress: nil, text)
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(raw.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
        #expect(raw.count < text.utf8.count / 10)
        #expect(try readAll(path) == text)
    }

    @Test func zstdIsDetectedByMagicNotName() throws {
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("plain-looking.csv").path
        try writeOutput(path, compress: true, "a,b\n1,2\n")
        #expect(try readAll(path) == "a,b\n1,2\n")
    }

    @Test func concatenatedFramesAreOneStream() throws {
        let folder = try temporaryFolder()
        let first = folder.appendingPathComponent("1.zst").path
        let second = folder.appendingPathComponent("2.zst").path
        try writeOutput(first, compress: nil, "a,b\n1,2\n")
        try writeOutput(second, compress: nil, "3,4\n")
        let joined = try Data(contentsOf: URL(fileURLWithPath: first)) + Data(contentsOf: URL(fileURLWithPath: second))
        let path = folder.appendingPathComponent("joined").path
        try joined.write(to: URL(fileURLWithPath: path))
        #expect(try readAll(path) == "a,b\n1,2\n3,4\n")
    }

    @Test func truncatedZstdIsAnError() throws {
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("x.zst").path
        try writeOutput(path, compress: nil, String(repeating: "some text that compresses\n", count: 10_000))
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        try raw.prefix(raw.count - 5).write(to: URL(fileURLWithPath: path))
        #expect(throws: ToolError.data("truncated zstd stream in \(path)")) { try readAll(path) }
    }

    @Test func corruptZstdIsAnError() throws {
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("x.zst").path
        try writeOutput(path, compress: nil, String(repeating: "some text that compresses\n", count: 1000))
        var raw = try Data(contentsOf: URL(fileURLWithPath: path))
        for i in 12..<min(40, raw.count) { raw[i] ^= 0x5A }
        try raw.write(to: URL(fileURLWithPath: path))
        do {
            _ = try readAll(path)
            Issue.record("corrupt stream was read")
        } catch let error as ToolError {
            #expect(error.status == .dataError)
            #expect(error.message.hasPrefix("corrupt zstd stream in \(path)"))
        }
    }

    /// fu-featurize's reading thread decodes, and its counting thread decodes ahead when
    /// idle: the bytes come out whole and in order whoever decodes them, then the error.
    @Test(arguments: [false, true]) func bytesDecodedByTwoThreadsComeOutInOrder(truncated: Bool) throws {
        let folder = try temporaryFolder()
        var text = ""
        var random = SplitMix64(seed: 7)
        for i in 0..<60_000 { text += "\(i),\(UInt64.random(in: 0...UInt64.max, using: &random)),x\n" }
        // Two frames, the second after several chunks of the first.
        let (first, second) = (folder.appendingPathComponent("1.zst").path, folder.appendingPathComponent("2.zst").path)
        let cut = text.utf8.index(text.utf8.startIndex, offsetBy: 700_000)
        try writeOutput(first, compress: true, String(text[..<cut]))
        try writeOutput(second, compress: true, String(text[cut...]))
        var raw = try Data(contentsOf: URL(fileURLWithPath: first)) + Data(contentsOf: URL(fileURLWithPath: second))
        if truncated { raw = raw.prefix(raw.count - 5) }
        let path = folder.appendingPathComponent("joined.zst").path
        try raw.write(to: URL(fileURLWithPath: path))

        let input = try ByteInput(path: path, readAhead: false)
        final class Helper: @unchecked Sendable {
            let done = Atomic<Bool>(false)
            let helped = Atomic<Int>(0)
        }
        let state = Helper()
        let helper = BackgroundThread {
            while !state.done.load(ordering: .relaxed) { if input.decodeAhead() { state.helped.add(1, ordering: .relaxed) } }
        }
        // The helper starts ahead (tests share the cores: it might otherwise not run at all).
        let start = Date()
        while state.helped.load(ordering: .relaxed) < 2 && Date().timeIntervalSince(start) < 10 { sched_yield() }
        var read: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 5000)
        var failure: Error?
        do {
            while true {
                let count = Int.random(in: 1...5000, using: &random)
                let n = try chunk.withUnsafeMutableBytes { try input.read(into: $0.baseAddress!, count: count) }
                if n == 0 { break }
                read += chunk[0..<n]
            }
        } catch { failure = error }
        state.done.store(true, ordering: .relaxed)
        helper.join()
        #expect(state.helped.load(ordering: .relaxed) >= 2)
        #expect(input.decodeAhead() == false)
        // (Where they differ, not the arrays: a failed expectation diffs the arrays, slowly.)
        let firstDifference = zip(read, text.utf8).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil)
        if truncated {
            #expect(failure as? ToolError == ToolError.data("truncated zstd stream in \(path)"))
            #expect(read.count > 1_000_000)
        } else {
            #expect(failure == nil)
            #expect(read.count == text.utf8.count)
        }
    }

    @Test func missingFileIsMissingInput() {
        #expect(throws: ToolError(.noInput, "cannot open /nonexistent/x.csv: No such file or directory")) {
            _ = try ByteInput(path: "/nonexistent/x.csv")
        }
    }

    @Test func abandonedOutputLeavesThePreviousFile() throws {
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("out.csv").path
        try writeOutput(path, compress: nil, "good\n")
        do {
            let output = try ByteOutput(path: path)
            try output.write(String(repeating: "half-written\n", count: 100_000))
            output.abandon()
        }
        #expect(try readAll(path) == "good\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.csv"])
    }

    @Test func specialFilesAreWrittenInPlaceNotReplaced() throws {
        try writeOutput("/dev/null", compress: nil, "discarded\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/null")
        #expect(attributes[.type] as? FileAttributeType == .typeCharacterSpecial)
    }

    @Test func symlinkOutputIsWrittenThroughAndStaysALink() throws {
        let folder = try temporaryFolder()
        let files = FileManager.default
        try files.createDirectory(at: folder.appendingPathComponent("real"), withIntermediateDirectories: true)
        let target = folder.appendingPathComponent("real/out.csv").path
        try writeOutput(target, compress: nil, "old\n")
        let link = folder.appendingPathComponent("link.csv").path
        try files.createSymbolicLink(atPath: link, withDestinationPath: "real/out.csv")  // relative
        try writeOutput(link, compress: nil, "new\n")
        #expect(try files.destinationOfSymbolicLink(atPath: link) == "real/out.csv")
        #expect(try readAll(target) == "new\n")
        // The temporary file was beside the target, and is gone.
        #expect(try files.contentsOfDirectory(atPath: folder.path).sorted() == ["link.csv", "real"])
        #expect(try files.contentsOfDirectory(atPath: folder.appendingPathComponent("real").path) == ["out.csv"])
    }

    @Test func danglingSymlinkOutputCreatesItsTarget() throws {
        let folder = try temporaryFolder()
        let link = folder.appendingPathComponent("link.csv").path
        let target = folder.appendingPathComponent("made.csv").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        try writeOutput(link, compress: nil, "made\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect(try readAll(target) == "made\n")
    }

    @Test func linkToOwnDescriptorIsThatDescriptor() throws {
        let folder = try temporaryFolder()
        let link = folder.appendingPathComponent("stdout-link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/proc/self/fd/1")
        #expect(try ByteOutput.destination(of: link) == .descriptor(1))
        #expect(try ByteOutput.destination(of: "/dev/stdout") == .descriptor(1))
        #expect(try ByteOutput.destination(of: "/dev/fd/2") == .descriptor(2))
        #expect(try ByteOutput.destination(of: "/dev/null") == .inPlace("/dev/null"))
    }

    @Test func symlinkLoopIsAnIOError() throws {
        let folder = try temporaryFolder()
        let link = folder.appendingPathComponent("loop").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "loop")
        #expect(throws: ToolError.io("cannot write \(link): too many levels of symbolic links")) {
            try writeOutput(link, compress: nil, "x\n")
        }
    }

    @Test func memoryInputReadsLikeAFile() throws {
        let input = try ByteInput(bytes: Array("hello".utf8), name: "body")
        #expect(try input.readAll() == Array("hello".utf8))
    }
}

@Suite struct TableWriting {
    func written(_ format: TableFormat, _ body: (TableWriter) throws -> Void) throws -> String {
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("t").path
        let output = try ByteOutput(path: path)
        let writer = try TableWriter(output, format: format, columns: ["UserId", "n", "x"])
        try body(writer)
        try output.commit()
        return try readAll(path)
    }

    @Test func csvQuotesOnlyWhereNeeded() throws {
        let text = try written(.csv) { writer in
            try writer.field("plain"); try writer.field(-42); try writer.field(0.1); try writer.endRow()
            try writer.field("a,\"b\""); try writer.field(0); try writer.field(8.0); try writer.endRow()
        }
        #expect(text == "UserId,n,x\nplain,-42,0.1\n\"a,\"\"b\"\"\",0,8\n")
    }

    @Test func jsonLinesUseTheSameCalls() throws {
        let text = try written(.jsonl) { writer in
            try writer.field("U\"1"); try writer.field(3); try writer.field(1.0 / 3.0); try writer.endRow()
        }
        #expect(text == "{\"UserId\":\"U\\\"1\",\"n\":3,\"x\":0.3333333333333333}\n")
    }

    /// `numberRow` writes the bytes of the calls per field, or nothing and says so (JSON
    /// Lines, a text that needs quoting, a row past the output's buffer): random rows of
    /// integral and fractional values, with and without an integer, through both formats.
    @Test func aNumberRowIsItsFieldsInOneCall() throws {
        var random = SplitMix64(seed: 20)
        let texts = ["U1", "", "a,b", "q\"", "back\\slash", "é", String(repeating: "x", count: ByteOutput.bufferCapacity)]
        var fellBack = Set<String>()
        for format in [TableFormat.csv, .jsonl] {
            for _ in 0..<300 {
                let text = texts[Int(random.next() % UInt64(texts.count))]
                let integer: Int? = random.next() % 2 == 0 ? nil : Int(random.next() % 3) - 1
                let count = Int(random.next() % 20)
                let integral = (0..<count).map { _ in random.next() % 2 == 0 }
                let values = integral.map { isIntegral -> Double in
                    let r = Double(random.next() % 1_000_000) - 500_000
                    return isIntegral ? r : r / Double(1 + random.next() % 97) * pow(10, Double(Int(random.next() % 40) - 20))
                }
                let columns = ["id"] + (integer == nil ? [] : ["n"]) + values.indices.map { "v\($0)" }
                func row(_ oneCall: Bool) throws -> (bytes: [UInt8], inOneCall: Bool) {
                    let output = ByteOutput(inMemory: ())
                    let writer = try TableWriter(output, format: format, columns: columns, writeHeader: false)
                    var bytes = Array(text.utf8)
                    let done = try oneCall && bytes.withUnsafeMutableBufferPointer { id in
                        try values.withUnsafeBufferPointer { v in
                            try integral.withUnsafeBufferPointer { try writer.numberRow(text: UnsafeBufferPointer(id), integer: integer, values: v, integral: $0) }
                        }
                    }
                    if !done {
                        try bytes.withUnsafeMutableBufferPointer { try writer.field(bytes: UnsafeBufferPointer($0)) }
                        if let integer { try writer.field(integer) }
                        for (value, isIntegral) in zip(values, integral) {
                            if isIntegral { try writer.field(Int(value)) } else { try writer.field(value) }
                        }
                        try writer.endRow()
                    }
                    return (try output.collected(), done)
                }
                let (fast, slow) = (try row(true), try row(false))
                #expect(fast.bytes == slow.bytes)
                let plain = format == .csv && !text.contains(where: { ",\"\\".contains($0) }) && text.utf8.count < 1000
                #expect(fast.inOneCall == plain)
                if !fast.inOneCall { fellBack.insert("\(format) \(text.prefix(8))") }
            }
        }
        #expect(fellBack.count > 5)
    }

    @Test func doublesRoundTrip() throws {
        var cache = NumberFormatterCache()
        var buffer = [UInt8](repeating: 0, count: 32)
        func format(_ value: Double) -> String {
            let length = buffer.withUnsafeMutableBufferPointer { cache.format(value, into: $0.baseAddress!) }
            return String(decoding: buffer[0..<length], as: UTF8.self)
        }
        // The cache is set up after its first 8,192 numbers: these come before and after.
        for round in 0..<3 {
            if round == 1 { for k in 0..<8192 { _ = format(Double(k) / 7) } }
            for value in [0.0, 1.0, 5.333333333333333, 1e-300, 123456789.125, 0.1 + 0.2, 2.5e-5, -1.7976931348623157e308] {
                // Each value twice: the second time from the cache, over a longer text's bytes.
                _ = format(-2.2250738585072014e-308)
                #expect(Double(format(value)) == value)
                _ = format(-2.2250738585072014e-308)
                let text = format(value)
                #expect(Double(text) == value)
                let uncached = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) {
                    String(decoding: UnsafeBufferPointer(rebasing: $0[0..<formatDouble(value, into: $0.baseAddress!)]), as: UTF8.self)
                }
                #expect(text == uncached)
            }
        }
    }

    @Test func anInMemoryOutputKeepsEveryByteAsItGrows() throws {
        // From room for 10 bytes: single bytes, a block larger than the write buffer, and
        // numbers through `reserve`, each path growing the buffer past 256 KiB.
        let output = ByteOutput(inMemory: (), expectedBytes: 10)
        var expected: [UInt8] = []
        for i in 0..<300_000 {
            let byte = UInt8(truncatingIfNeeded: i &* 7)
            try output.write(byte: byte)
            expected.append(byte)
        }
        let block = (0..<600_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try output.write(block)
        expected += block
        let writer = try TableWriter(output, format: .csv, columns: ["n"], writeHeader: false)
        for value in stride(from: -50_000, to: 50_000, by: 3) {
            try writer.field(value)
            try writer.endRow()
            expected += Array("\(value)\n".utf8)
        }
        // Compared as a Bool: a failure printing two arrays of a megabyte takes minutes.
        func firstDifference(_ bytes: [UInt8]) -> Int? {
            bytes == expected ? nil : (0..<min(bytes.count, expected.count)).first { bytes[$0] != expected[$0] } ?? min(bytes.count, expected.count)
        }
        let inPlace = firstDifference(output.withCollected { Array($0) })
        #expect(inPlace == nil, "first difference at byte \(inPlace ?? -1)")
        let copied = firstDifference(try output.collected())
        #expect(copied == nil, "first difference at byte \(copied ?? -1)")
        #expect(try output.collected().isEmpty)
    }

    @Test func integersHaveTheirDigits() {
        for value in [0, 1, 9, 10, 42, 99, 100, 101, 65_535, -1, -9, -10, -100, Int.max, Int.min] {
            let text = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) {
                String(decoding: UnsafeBufferPointer(rebasing: $0[0..<formatInteger(value, into: $0.baseAddress!)]), as: UTF8.self)
            }
            #expect(text == String(value))
        }
    }
}

@Suite struct LogEscaping {
    @Test func controlCharactersAreEscapedPrintableTextKept() {
        #expect(LogText.escaped("plain 'text' é ✓ 日本") == "plain 'text' é ✓ 日本")
        #expect(LogText.escaped("a\nb\r\tc") == #"a\nb\r\tc"#)
        #expect(LogText.escaped("x\u{1B}[2J\u{0}\u{7F}\u{85}\u{9B}y") == #"x\u{1B}[2J\u{0}\u{7F}\u{85}\u{9B}y"#)
    }

    @Test func oversizedDocumentIsALimitError() throws {
        #expect(throws: ToolError.limit("the model file is larger than 64 MiB (the limit)", at: InputLocation(file: "/dev/zero"))) {
            _ = try readDocument("/dev/zero", what: "model file")
        }
        #expect(throws: ToolError.limit("the model file is larger than 64 MiB (the limit)", at: InputLocation(file: "/dev/zero"))) {
            _ = try readRawDocument("/dev/zero", what: "model file")
        }
    }
}
