import ArgumentParser
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fu tool: parsed by swift-argument-parser, run by `ToolMain` with a logger.
public protocol FuTool: ParsableCommand {
    var logging: LoggingOptions { get }
    func execute(logger: Logger) throws
}

/// The shared `main` of every tool: parse, set up logging, run, and turn every failure into
/// one line `fu-TOOL: error: WHAT (FILE:LINE)` and a sysexits code. A closed stdout is quiet.
public enum ToolMain {
    public static func run<Tool: FuTool>(_ type: Tool.Type, arguments: [String]? = nil) -> Never {
        signal(SIGPIPE, SIG_IGN)
        let name = Tool.configuration.commandName ?? "fu"
        let tool: Tool
        do {
            var parsed = try Tool.parseAsRoot(arguments)
            guard let typed = parsed as? Tool else {
                // --help (and -h) parse as argument parser's own help command: run it.
                try parsed.run()
                exit(0)
            }
            tool = typed
        } catch {
            if Tool.exitCode(for: error) == .success { Tool.exit(withError: error) }
            // One line, as every error (DESIGN.md); --help has the rest.
            let message = Tool.message(for: error).split(separator: "\n").joined(separator: " ")
            writeToStandardError("\(name): error: \(message); see '\(name) --help'\n")
            exit(ExitStatus.usage.rawValue)
        }
        let environment = currentEnvironment()
        let logger: Logger
        do {
            logger = try LogSetup.bootstrap(tool: name, options: tool.logging, environment: environment)
        } catch {
            writeToStandardError("\(name): error: \(error)\n")
            exit((error as? ToolError)?.status.rawValue ?? ExitStatus.software.rawValue)
        }
        do {
            try tool.execute(logger: logger)
            exit(0)
        } catch is BrokenPipe {
            exit(0)
        } catch let error as ToolError {
            logger.error("\(error.description)")
            exit(error.status.rawValue)
        } catch {
            logger.error("\(String(describing: error))")
            exit(ExitStatus.software.rawValue)
        }
    }

    static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

extension Logger {
    /// The `--skip-bad-rows` report every tool gives.
    public func reportSkipped(_ count: Int, input: String) {
        if count > 0 { warning("skipped \(count) bad rows", metadata: ["input": "\(input)"]) }
    }
}
