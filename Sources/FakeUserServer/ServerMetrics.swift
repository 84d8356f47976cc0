import FakeUserKit
import Metrics
import Prometheus
import Synchronization

/// The server's Prometheus metrics, through swift-metrics on a registry of its own (so two
/// servers in one process, as in tests, do not share counts).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// The last users scored, for `fu_feature_psi`; made on the first batch.
    private let drift = Mutex<DriftWindow?>(nil)
    /// The features `fu_feature_psi` has a series for.
    private let driftSeries = Mutex<Set<String>>([])

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

    /// Adds a batch's users to the window of the last `window` users and sets each
    /// feature's `fu_feature_psi` from it (a model without a training distribution has none).
    func recordDrift(_ table: FeatureTable, model: Model, window: Int) {
        let drift = drift.withLock { drift in
            if drift?.capacity != window { drift = DriftWindow(capacity: window) }
            return drift!
        }
        drift.add(table, model: model)
        let measured = drift.report()?.measured ?? []
        for feature in measured {
            Gauge(label: "fu_feature_psi", dimensions: [("feature", feature.feature)], factory: factory).record(feature.psi!)
        }
        // A reloaded model's features replace the old ones' series, which would otherwise
        // report the old model's last values forever.
        let current = Set(measured.map(\.feature))
        let stale = driftSeries.withLock { series in
            defer { series = current }
            return series.subtracting(current)
        }
        for feature in stale {
            Gauge(label: "fu_feature_psi", dimensions: [("feature", feature)], factory: factory).destroy()
        }
    }

    func recordReload(succeeded: Bool) {
        Counter(label: "fu_model_reloads_total", dimensions: [("result", succeeded ? "ok" : "failed")], factory: factory)
            .increment()
    }

    /// The text exposition format.
    func rendered() -> [UInt8] { registry.emitToBuffer() }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
