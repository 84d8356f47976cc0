import ArgumentParser
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every fu tool has: swift-argument-parser's command and the logging options.
public protocol LoggingTool: ParsableCommand {
    var logging: LoggingOptions { get }
    /// The stderr level without -v, -q or FU_LOG_LEVEL.
    static var defaultLogLevel: Logger.Level { get }
}

extension LoggingTool {
    public static var defaultLogLevel: Logger.Level { .warning }
}

/// A fu filter: parsed by swift-argument-parser, run by `ToolMain` with a logger.
public protocol FuTool: LoggingTool {
    func execute(logger: Logger) throws
}

/// The shared `main` of every tool: parse, set up logging, run, and turn every failure into
/// one line `fu-TOOL: error: WHAT (FILE:LINE)` and a sysexits code. A closed stdout is quiet.
public enum ToolMain {
    public static func run<Tool: FuTool>(_ type: Tool.Type, arguments: [String]? = nil) -> Never {
        let (tool, logger) = start(type, arguments: arguments)
        do {
            try tool.execute(logger: logger)
            exit(0)
        } catch {
            fail(error, logger: logger)
        }
    }

    /// Parses the arguments and sets up logging; exits on a usage error or --help.
    public static func start<Tool: LoggingTool>(_ type: Tool.Type, arguments: [String]? = nil) -> (Tool, Logger) {
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
            // One line, as every error (docs/design.md); --help has the rest.
            let given = arguments ?? Array(CommandLine.arguments.dropFirst())
            let message = foreignSpellingHint(given, help: Tool.helpMessage())
                ?? LogText.escaped(Tool.message(for: error).split(separator: "\n").joined(separator: " "))
            writeToStandardError("\(name): error: \(message); see '\(name) --help'\n")
            exit(ExitStatus.usage.rawValue)
        }
        do {
            let logger = try LogSetup.bootstrap(
                tool: name, options: tool.logging, environment: currentEnvironment(), defaultLevel: Tool.defaultLogLevel)
            return (tool, logger)
        } catch {
            writeToStandardError("\(name): error: \(LogText.escaped("\(error)"))\n")
            exit((error as? ToolError)?.status.rawValue ?? ExitStatus.software.rawValue)
        }
    }

    /// Logs the error as one line and exits with its sysexits code (0 for a closed stdout).
    public static func fail(_ error: any Error, logger: Logger) -> Never {
        switch error {
        case is BrokenPipe:
            exit(0)
        case let error as ToolError:
            logger.error("\(error.description)")
            exit(error.status.rawValue)
        default:
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

    /// The warning every tool gives for a fit (`what`: "the fit", "fold 3") that stopped
    /// short of convergence.
    public func reportSolver(_ what: String, converged: Bool, iterations: Int, gradientNorm: Double, stopReason: StopReason?) {
        guard !converged else { return }
        warning("\(what) did not converge", metadata: [
            "stop_reason": "\(stopReason?.rawValue ?? "unknown")", "iterations": "\(iterations)",
            "gradient_norm": "\(gradientNorm)",
        ])
    }
}

/// The options users bring from scikit-learn, liblinear and jq, and fu's names for them.
let foreignSpellings: [String: String] = [
    "--C": "-c", "-C": "-c", "--k": "--folds", "-k": "--folds", "--n-splits": "--folds", "--cv": "--folds",
    "--n_splits": "--folds", "--random_state": "--seed", "--random-state": "--seed", "--test_size": "--test-size",
    "--class_weight": "--class-weight", "--model-file": "--model", "--out": "--output",
]

/// "unknown option '--C': fu-fit's name for it is '-c'", for the first argument spelled as
/// another tool spells it, when this tool has fu's option; nil otherwise (argument
/// parser's own message then stands).
func foreignSpellingHint(_ arguments: [String], help: String) -> String? {
    for argument in arguments {
        let option = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
        guard let ours = foreignSpellings[option], help.contains(" \(ours) ") || help.contains(" \(ours),") || help.contains(", \(ours) ") else { continue }
        return "unknown option '\(LogText.escaped(option))': \(runningToolName)'s name for it is '\(ours)'"
    }
    return nil
}

