/// Exit codes from sysexits.h, the contract of docs/design.md.
public enum ExitStatus: Int32, Sendable {
    case ok = 0
    /// A check the user asked for failed (fu-drift --fail-above): as diff and cmp say
    /// "different" with 1, apart from the errors below.
    case checkFailed = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case software = 70
    case ioError = 74
}

/// Where in the input a problem was found: a file name (or "stdin") and a 1-based line.
public struct InputLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?

    public init(file: String, line: Int? = nil) {
        self.file = file
        self.line = line
    }

    public var description: String {
        if let line { return "\(file):\(line)" }
        return file
    }
}

/// The one error type of fu: every failure becomes one line on stderr and a sysexits code.
public struct ToolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: ExitStatus
    public var message: String
    public var location: InputLocation?
    /// Bad data because it passes one of fu's stated limits (a record's length, distinct
    /// event types): a server answers 413 rather than 400.
    public var overLimit = false

    public init(_ status: ExitStatus, _ message: String, at location: InputLocation? = nil) {
        self.status = status
        self.message = message
        self.location = location
    }

    public static func usage(_ message: String) -> ToolError { ToolError(.usage, message) }
    public static func data(_ message: String, at location: InputLocation? = nil) -> ToolError {
        ToolError(.dataError, message, at: location)
    }
    public static func limit(_ message: String, at location: InputLocation? = nil) -> ToolError {
        var error = ToolError(.dataError, message, at: location)
        error.overLimit = true
        return error
    }
    public static func io(_ message: String, at location: InputLocation? = nil) -> ToolError {
        ToolError(.ioError, message, at: location)
    }

    /// `WHAT (FILE:LINE)`, the text after `fu-TOOL: error: `.
    public var description: String {
        if let location { return "\(message) (\(location))" }
        return message
    }
}

/// Thrown when stdout's reader went away (`| head`): the tool stops quietly with status 0.
public struct BrokenPipe: Error, Sendable {
    public init() {}
}
