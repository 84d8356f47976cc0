import FakeUserKit
import Prometheus

/// fu-watch's `--metrics FILE`: the stream's series in Prometheus's text format (as
/// fu-serve's `/metrics` shows them), for node_exporter's textfile collector or any
/// scraper of files. Rewritten whole and atomically, so a reader never sees half of it.
public struct WatchMetricsFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func write(_ scorer: StreamScorer) throws {
        let registry = PrometheusCollectorRegistry()
        let gauges = StreamGauges(registry: registry, source: "fu-watch's input")
        gauges.set(users: scorer.userCount, flagged: scorer.flaggedCount, evictions: scorer.evictions)
        gauges.setDrift(scorer.endedUsersDrift())
        registry.makeCounter(name: "fu_stream_events_total", help: "Input events consumed, over every run that carried the state on")
            .increment(by: Int64(scorer.consumed))
        let output = try ByteOutput(path: path, compress: false)
        try output.write(registry.emitToBuffer())
        try output.commit()
    }
}
