import Metrics
import Prometheus

/// The server's Prometheus metrics, through swift-metrics on a registry of its own (so two
/// servers in one process, as in tests, do not share counts).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

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
