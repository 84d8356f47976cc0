import ArgumentParser
import FakeUserKit
import FakeUserServer
import Logging

struct Serve: LoggingTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-serve",
        abstract: "Answer predictions over HTTP: POST events to /predict, get UserId,Fake,Probability back.",
        discussion: """
            Scores a request exactly as `fu-featurize | fu-score -m MODEL` scores the same file. \
            Routes: POST /predict, GET /health, /ready, /model, /metrics, and a stream's per-user \
            state: POST /events, GET and DELETE /users/ID (docs/server.md has the API). \
            SIGHUP reloads the model file (a bad file keeps the old model); SIGTERM and SIGINT \
            stop after the requests in flight. One access-log line per request goes to stderr \
            (and --log-dir).

            Examples:
              fu-serve -m models/fake_user_detector.json
              curl -X POST "http://localhost:8000/predict" -H "accept: application/json" \\
                -H "Content-Type: multipart/form-data" -F "file=@test_data.csv"
              curl --data-binary @events.csv -H 'Content-Type: text/csv' \\
                -H 'Accept: text/csv' localhost:8000/predict
              kill -HUP "$(pidof fu-serve)"    # reload the model
            """,
        version: fuVersion)

    static let defaultLogLevel: Logger.Level = .notice

    @OptionGroup var logging: LoggingOptions

    @Option(name: [.short, .long], help: ArgumentHelp("The model file (from fu-fit); requests cannot name another.", valueName: "file"), completion: .file())
    var model: String

    @Option(help: ArgumentHelp("Address to listen on (loopback unless you ask).", valueName: "host"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("Port to listen on; 0 picks a free one (the log says which).", valueName: "n"))
    var port = 8000

    @Option(help: ArgumentHelp("Largest request body, and largest decoded zstd body: bytes, or with K, M or G (1024s).", valueName: "size"))
    var maxBody = "16M"

    @Option(help: ArgumentHelp("Most events (rows) in one request.", valueName: "n"))
    var maxEvents = 1_000_000

    @Option(help: ArgumentHelp("Seconds a request's body may take to arrive (408 after); idle connections close after twice as long.", valueName: "s"))
    var requestTimeout = 30.0

    /// The per-user state of POST /events.
    @OptionGroup var stream: StreamStateOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (parseSize(maxBody) ?? 0) > 0 else {
            throw ValidationError("--max-body must be a positive size such as 1048576, 512K or 16M")
        }
        guard driftWindow >= 0 else { throw ValidationError("--drift-window must be 0 or more") }
        guard maxEvents > 0 else { throw ValidationError("--max-events must be positive") }
        guard requestTimeout > 0, requestTimeout.isFinite else { throw ValidationError("--request-timeout must be positive") }
    }

    @Option(help: ArgumentHelp("/metrics gives each feature's PSI (fu_feature_psi) over the last N users scored; 0 turns it off.", valueName: "n"))
    var driftWindow = 1000

    func serve(logger: Logger) async throws {
        // The server's signals are ServiceLifecycle's; a state checkpoint must not take them.
        TemporaryFiles.leaveSignalsAlone()
        var settings = ServerSettings(modelPath: model)
        settings.host = host
        settings.port = port
        settings.maxBody = parseSize(maxBody)!
        settings.maxEvents = maxEvents
        settings.driftWindow = driftWindow
        settings.requestTimeout = .milliseconds(Int64((requestTimeout * 1000).rounded()))
        settings.maxUsers = stream.maxUsers
        settings.statePath = stream.state
        settings.checkpointEvery = stream.checkpointEvery
        let loaded = try LoadedModel.load(path: model)
        logger.notice("model loaded", metadata: ["path": "\(model)", "sha256": "\(loaded.sha256)", "features": "\(loaded.model.features.count)"])
        let streams = try StreamStore(model: loaded.model, settings: settings)
        if let state = stream.state, streams.figures.eventsConsumed > 0 {
            logger.notice("state loaded", metadata: ["path": "\(state)", "users": "\(streams.figures.users)", "events_consumed": "\(streams.figures.eventsConsumed)"])
        }
        let listening = settings
        let app = makeServer(settings: settings, store: ModelStore(loaded), streams: streams, logger: logger) { channel in
            logger.notice("listening on http://\(listening.host):\(channel.localAddress?.port ?? listening.port)")
        }
        do {
            try await app.runService()
        } catch {
            throw ToolError.io("cannot serve on \(host):\(port): \(error)")
        }
        // After the requests in flight: the state holds every event answered.
        try streams.save()
        if let state = stream.state { logger.notice("state saved", metadata: ["path": "\(state)", "users": "\(streams.figures.users)"]) }
        logger.notice("stopped")
    }
}

/// `16M`, `512K`, `1G` or plain bytes.
func parseSize(_ text: String) -> Int? {
    let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    if let last = text.uppercased().last, let unit = units[last] {
        return Int(text.dropLast()).flatMap { $0.multipliedReportingOverflow(by: unit).overflow ? nil : $0 * unit }
    }
    return Int(text)
}

let (tool, logger) = ToolMain.start(Serve.self)
do {
    try await tool.serve(logger: logger)
} catch {
    ToolMain.fail(error, logger: logger)
}
