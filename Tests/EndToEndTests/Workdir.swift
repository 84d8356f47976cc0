import Foundation
import Testing

/// xsv-style test helper: a temporary folder, files written into it, and the real built
/// tools run in it through pipes.
struct Workdir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fu-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent(name))
    }

    func write(_ name: String, bytes: [UInt8]) throws {
        try Data(bytes).write(to: url.appendingPathComponent(name))
    }

    func read(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: url.appendingPathComponent(name)), as: UTF8.self)
    }

    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    /// Copies a fixture (Tests/Fixtures: copies of ../shared/reference) into the folder.
    func fixture(_ name: String) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
        let target = url.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: target)
        return target.path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a built tool with arguments; stdin from a file in the folder or from text.
    @discardableResult
    func run(_ tool: String, _ arguments: [String] = [], stdinFile: String? = nil, stdin: String? = nil, environment: [String: String] = [:]) throws -> Result {
        try runProcess(Workdir.binary(tool), arguments, stdinFile: stdinFile, stdin: stdin, environment: environment)
    }

    /// Runs a bash command line in the folder, with the tools on PATH.
    @discardableResult
    func shell(_ command: String) throws -> Result {
        try runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", command], stdinFile: nil, stdin: nil,
                       environment: ["PATH": Workdir.binaries.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")])
    }

    private func runProcess(_ executable: URL, _ arguments: [String], stdinFile: String?, stdin: String?, environment: [String: String]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = url
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "FU_LOG_DIR")
        env.removeValue(forKey: "FU_LOG_LEVEL")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = url.appendingPathComponent(".stdout-\(UUID().uuidString)")
        let err = url.appendingPathComponent(".stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let stdinFile {
            process.standardInput = try FileHandle(forReadingFrom: url.appendingPathComponent(stdinFile))
        } else if let stdin {
            let inputFile = url.appendingPathComponent(".stdin-\(UUID().uuidString)")
            try Data(stdin.utf8).write(to: inputFile)
            process.standardInput = try FileHandle(forReadingFrom: inputFile)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    /// The folder of the built executables: beside the test bundle, or $FU_BIN.
    static let binaries: URL = {
        if let explicit = ProcessInfo.processInfo.environment["FU_BIN"] { return URL(fileURLWithPath: explicit) }
        var candidate = Bundle.main.bundleURL
        for _ in 0..<4 {
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("fu-featurize").path) { return candidate }
            candidate = candidate.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent()
    }()

    static func binary(_ tool: String) throws -> URL {
        let url = binaries.appendingPathComponent(tool)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw BinaryMissing(path: url.path)
        }
        return url
    }

    struct BinaryMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is not built: run `swift build` before `swift test`" }
    }
}

/// Parses CSV text written by the tools (no quoted fields) into rows of fields.
func csvRows(_ text: String) -> [[String]] {
    text.split(separator: "\n", omittingEmptySubsequences: true).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
}
