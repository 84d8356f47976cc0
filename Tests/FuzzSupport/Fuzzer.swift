import FakeUserKit
import Foundation

/// A seeded mutation fuzzer, the kind that found fu-serve's multipart trap in 1,048 bodies:
/// inputs from a committed seed corpus, changed a few bytes at a time (libFuzzer's
/// mutations: bit flips, interesting bytes, inserts, deletes, copies, dictionary tokens,
/// splices), fed to a target until a time budget runs out. An input whose outcome (an
/// error message's first words, or success) was not seen before joins the corpus, so the
/// search goes deeper than the seeds.
///
/// Why not libFuzzer: `-sanitize=fuzzer` needs a separate build of each target with its own
/// `main`, and its crashes stop the process before a test can say which input did it. This
/// runs inside `swift test`, is the same on every machine for a seed, and prints the input
/// that failed. A trap still stops the test run (and fails CI), after the input was saved.
public struct Fuzzer {
    public var name: String
    public var corpus: [[UInt8]]
    public var dictionary: [[UInt8]]
    public var random: SplitMix64
    /// Past this size an input is cut: the parsers' limits are tested elsewhere.
    public var maxLength = 1 << 16

    public init(name: String, corpusFolder: URL, dictionary: [String], seed: UInt64 = 1) throws {
        self.name = name
        let files = try FileManager.default.contentsOfDirectory(at: corpusFolder, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        corpus = try files.map { Array(try Data(contentsOf: $0)) }
        precondition(!corpus.isEmpty, "no seeds in \(corpusFolder.path)")
        self.dictionary = dictionary.map { Array($0.utf8) }
        random = SplitMix64(seed: seed)
    }

    /// The time budget of one target: FU_FUZZ_SECONDS (CI sets it), or a short default.
    public static var budget: Duration {
        .milliseconds(Int((Double(ProcessInfo.processInfo.environment["FU_FUZZ_SECONDS"] ?? "") ?? 2) * 1000))
    }

    /// Runs `target` on mutated inputs until the budget is spent. `target` returns the input's
    /// outcome (any short text); it throws, or the process traps, when the input found a
    /// defect. Returns the number of inputs tried.
    @discardableResult
    public mutating func run(budget: Duration = Fuzzer.budget, maxInputs: Int = .max, _ target: ([UInt8]) throws -> String) throws -> Int {
        let clock = ContinuousClock()
        let start = clock.now
        var outcomes = Set<String>()
        var tried = 0
        let crashFile = FileManager.default.temporaryDirectory.appendingPathComponent("fu-fuzz-\(name)-current")
        while clock.now - start < budget && tried < maxInputs {
            let input = tried < corpus.count ? corpus[tried] : mutate(corpus[random.below(corpus.count)])
            tried += 1
            // Saved first: when the target traps, this file is the reproducer.
            try? Data(input).write(to: crashFile)
            let outcome: String
            do {
                outcome = try target(input)
            } catch {
                throw Finding(target: name, input: input, problem: "\(error)", inputsTried: tried)
            }
            if outcomes.insert(outcome).inserted { corpus.append(input) }
        }
        try? FileManager.default.removeItem(at: crashFile)
        print("fuzz target \(name): \(tried) inputs, \(outcomes.count) outcomes, corpus \(corpus.count)")
        return tried
    }

    public struct Finding: Error, CustomStringConvertible {
        public var target: String
        public var input: [UInt8]
        public var problem: String
        public var inputsTried: Int

        public var description: String {
            "fuzz target \(target) failed after \(inputsTried) inputs: \(problem)\ninput (\(input.count) bytes, escaped): \(escaped(input))"
        }
    }

    /// One to four stacked mutations of `seed`.
    public mutating func mutate(_ seed: [UInt8]) -> [UInt8] {
        var bytes = seed
        for _ in 0...random.below(4) {
            let position = bytes.isEmpty ? 0 : random.below(bytes.count + 1)
            switch random.below(9) {
            case 0 where !bytes.isEmpty:  // flip a bit
                let index = min(position, bytes.count - 1)
                bytes[index] ^= 1 << UInt8(random.below(8))
            case 1 where !bytes.isEmpty:  // an interesting byte
                let interesting: [UInt8] = [0x00, 0x0A, 0x0D, 0x22, 0x2C, 0x2D, 0x3A, 0x7B, 0x7D, 0x5B, 0x5D, 0x7F, 0x80, 0xC3, 0xEF, 0xFF]
                bytes[min(position, bytes.count - 1)] = interesting[random.below(interesting.count)]
            case 2:  // random bytes
                bytes.insert(contentsOf: (0..<(1 + random.below(8))).map { _ in UInt8(random.below(256)) }, at: position)
            case 3 where !bytes.isEmpty:  // delete a range
                let count = min(1 + random.below(16), bytes.count - min(position, bytes.count - 1))
                bytes.removeSubrange(min(position, bytes.count - 1)..<(min(position, bytes.count - 1) + count))
            case 4 where !bytes.isEmpty:  // copy a range elsewhere
                let from = random.below(bytes.count)
                let count = min(1 + random.below(64), bytes.count - from)
                bytes.insert(contentsOf: bytes[from..<(from + count)], at: position)
            case 5, 6:  // a token of the format
                bytes.insert(contentsOf: dictionary[random.below(dictionary.count)], at: position)
            case 7:  // splice with another input
                let other = corpus[random.below(corpus.count)]
                let cut = other.isEmpty ? 0 : random.below(other.count)
                bytes = Array(bytes[..<position]) + other[cut...]
            default:  // truncate
                bytes.removeSubrange(position...)
            }
        }
        return Array(bytes.prefix(maxLength))
    }
}

/// Bytes as a Swift string literal would write them, for a reproducer in a failure message.
public func escaped(_ bytes: [UInt8]) -> String {
    bytes.prefix(2000).map { byte in
        switch byte {
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x5C: return "\\\\"
        case 0x20..<0x7F: return String(UnicodeScalar(byte))
        default: return String(format: "\\x%02X", byte)
        }
    }.joined()
}

/// Tests/Fixtures/fuzz/NAME: a target's committed seed corpus.
public func fuzzCorpus(_ name: String, file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz").appendingPathComponent(name)
}
