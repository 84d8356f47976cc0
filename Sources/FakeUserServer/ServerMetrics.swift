import FakeUserKit
import FakeUserMetrics
import Metrics
import Prometheus
import Synchronization

/// The server's Prometheus metrics, through swift-metrics on a registry of its own (so two
/// servers in one process, as in tests, do not share counts).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// The stream's figures (`/events`), made once: a request only sets them.
    private let stream: StreamGauges
    private let streamEvents: Prometheus.Counter
    private let streamCheckpointFailures: Prometheus.Counter
    /// The last users scored, for `fu_feature_psi`; made on the first batch.
    private let drift = Mutex<DriftWindow?>(nil)

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Scoring a batch takes well under a millisecond: the library's default buckets
        // start at 5 ms.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        stream = StreamGauges(registry: registry, source: "POST /events")
        streamEvents = registry.makeCounter(name: "fu_stream_events_total", help: "Events added by POST /events since the server started")
        streamCheckpointFailures = registry.makeCounter(
            name: "fu_stream_checkpoint_failures_total", help: "Checkpoints of the stream's state (--checkpoint-every) that could not be written")
    }

    /// Events added by POST /events.
    func recordIngested(_ events: Int) {
        if events > 0 { streamEvents.increment(by: Int64(events)) }
    }

    func recordCheckpointFailure() { streamCheckpointFailures.increment() }

    /// The stream's figures, set when /metrics is read (from one look at the state, so
    /// they never go backwards as concurrent requests would set them).
    private func setStreamFigures(_ figures: StreamStore.Figures) {
        stream.set(users: figures.users, flagged: figures.flagged, evictions: figures.evictions)
    }

    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        Counter(
            label: "fu_http_requests_total",
            dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory
        ).increment()
        Timer(label: "fu_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    func recordScored(fake: Int, real: Int) {
        Counter(label: "fu_users_scored_total", dimensions: [("class", "fake")], factory: factory).increment(by: fake)
        Counter(label: "fu_users_scored_total", dimensions: [("class", "real")], factory: factory).increment(by: real)
    }

    /// Adds a batch's users to the window of the last `window` users. The PSI is computed
    /// when /metrics is read, not per request (one-event requests would pay for it each).
    func recordDrift(_ table: FeatureTable, model: Model, window: Int) {
        let drift = drift.withLock { drift in
            if drift?.capacity != window { drift = DriftWindow(capacity: window) }
            return drift!
        }
        drift.add(table, model: model)
    }

    func recordReload(succeeded: Bool) {
        Counter(label: "fu_model_reloads_total", dimensions: [("result", succeeded ? "ok" : "failed")], factory: factory)
            .increment()
    }

    /// The text exposition format.
    func rendered(stream: StreamStore.Figures) -> [UInt8] {
        self.stream.setDrift(drift.withLock { $0 }?.report())
        setStreamFigures(stream)
        return registry.emitToBuffer()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
