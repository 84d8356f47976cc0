import ArgumentParser
import FakeUserKit
import FakeUserMetrics
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct Watch: FuTool {
    static let configuration = CommandConfiguration(
        commandName: "fu-watch",
        abstract: "Score users as their events arrive: per-user counters, a line when a user's decision changes.",
        discussion: """
            Reads an unbounded stream of events (CSV with its header, or JSON Lines; plain or \
            zstd; a file, stdin, a FIFO, tail -F) and rescores a user after each of its events, \
            from the counters fu-featurize keeps. Lines are written as soon as the input that \
            caused them has been read. At the end of a finite input, --emit final gives exactly \
            the rows of fu-featurize | fu-score -m MODEL.

            A user is flagged as the model's stream policy says (fu-fit --policy-events: a \
            minimum number of events and thresholds by events seen), or, for a model without \
            one, at the model's threshold from the first event. --threshold or --min-events \
            replaces the stored policy with that one rule.

            Examples:
              tail -F events.csv | fu-watch -m model.json
              tail -F events.csv | fu-watch -m model.json --explain 3 --format jsonl
              fu-watch -m model.json --emit final events.csv.zst > predictions.csv
              fu-watch -m model.json --state watch.json --checkpoint-every 10000 ev.csv
              tail -F events.csv | fu-watch -m model.json --metrics fu-watch.prom
            """,
        version: fuVersion)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var formatOption: FormatOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var scoring: ScoringOptions

    @Option(help: ArgumentHelp("changes: a line when a user's decision changes; every: a line per event; final: one line per user at the end of the input.", valueName: "changes|every|final"), completion: .list(["changes", "every", "final"]))
    var emit = "changes"

    @Option(help: ArgumentHelp(
        "Flag a user only from this many events on; given, it (with --threshold, default the model's) replaces the model's stream policy, as --threshold alone does.",
        valueName: "n"))
    var minEvents: Int?

    @Option(help: ArgumentHelp("Forget users with no event in the last N events of the stream.", valueName: "n"))
    var idle: Int?

    @OptionGroup var stream: StreamStateOptions

    @Option(help: ArgumentHelp("Replay evaluation: the users' true labels (UserId,Fake, as fu-split --truth writes them); needs --summary.", valueName: "file"), completion: .file())
    var truth: String?

    @Option(help: ArgumentHelp("Write the early-detection summary (fakes caught and how soon, real users ever flagged) as JSON here; needs --truth.", valueName: "file"), completion: .file())
    var summary: String?

    @Option(help: ArgumentHelp(
        "Write the stream's Prometheus metrics (users, flagged, evictions, events, fu_feature_psi) here every --metrics-every events, at the end and when stopped.",
        valueName: "file"), completion: .file())
    var metrics: String?

    @Option(help: ArgumentHelp("How often --metrics is rewritten, in events (default 10000).", valueName: "n"))
    var metricsEvery: Int?

    @Option(help: ArgumentHelp(
        "fu_feature_psi in --metrics: over the last N users whose histories ended (forgotten at --idle or --max-users, or held at the end of the input without --state); 0 leaves it out (default 1000).",
        valueName: "n"))
    var driftWindow: Int?

    func validate() throws {
        guard EmitMode(rawValue: emit) != nil else { throw ValidationError("--emit must be changes, every or final, not '\(emit)'") }
        if let minEvents, minEvents < 1 { throw ValidationError("--min-events must be at least 1") }
        if let idle, idle < 1 { throw ValidationError("--idle must be at least 1") }
        guard (truth == nil) == (summary == nil) else { throw ValidationError("--truth and --summary go together") }
        if let metricsEvery, metricsEvery < 1 { throw ValidationError("--metrics-every must be at least 1") }
        if let driftWindow, driftWindow < 0 { throw ValidationError("--drift-window must be 0 or more") }
        if metrics == nil && (metricsEvery != nil || driftWindow != nil) {
            throw ValidationError("--\(metricsEvery != nil ? "metrics-every" : "drift-window") needs --metrics FILE")
        }
        if metrics == "-" { throw ValidationError("--metrics needs a file: '-' would mix the metrics into stdout") }
    }

    func execute(logger: Logger) throws {
        let stop = StopSignals()  // before the input's reading thread starts
        try inputOptions.requireInput()
        var options = WatchOptions()
        options.emit = EmitMode(rawValue: emit) ?? .changes
        options.format = formatOption.format
        options.threshold = scoring.threshold
        options.explain = scoring.explain
        options.minEvents = minEvents
        options.maxUsers = stream.maxUsers
        options.idle = idle
        let scorer = try StreamScorer(model: try scoring.loadModel(), options: options)
        if let state = stream.state, access(state, F_OK) == 0 {
            try scorer.load(from: state)
            logger.info("state loaded", metadata: ["users": "\(scorer.userCount)", "events_consumed": "\(scorer.consumed)"])
        }
        let reader = try inputOptions.openTable()
        var session = WatchSession(statePath: stream.state, checkpointEvery: stream.checkpointEvery, truthPath: truth, summaryPath: summary)
        if let metrics {
            scorer.keepEndedUsers(driftWindow ?? 1000)
            let file = WatchMetricsFile(path: metrics)
            try file.write(scorer)  // now: a path that cannot be written is an error before the stream starts
            session.metrics = (metricsEvery ?? 10_000, { scorer in
                do { try file.write(scorer) } catch { logger.warning("cannot write the metrics file; the stream goes on", metadata: ["error": "\(error)"]) }
            })
        }
        let watched = try session.run(
            scorer: scorer, reader: reader, output: try outputOptions.openOutput(), stop: stop,
            progress: Progress.forTerminal(tool: "fu-watch"))
        logger.reportSkipped(reader.skippedRows, input: reader.name)
        logger.info("watched", metadata: [
            "events": "\(watched.events)", "users": "\(watched.users)", "flagged": "\(watched.flagged)", "evictions": "\(watched.evictions)",
        ])
        if watched.evictions > 0 {
            let what = "forgot \(watched.evictions) users (--max-users \(stream.maxUsers)\(idle.map { ", --idle \($0)" } ?? ""))"
            // In a stream forgetting is the bound working; in the final table those users are missing.
            if options.emit == .final {
                logger.warning("\(what): the final lines lack them")
            } else {
                logger.notice("\(what)")
            }
        }
    }
}

ToolMain.run(Watch.self)
