import FakeUserKit
import Prometheus
import Synchronization

/// The Prometheus series of a stream of users, the same in fu-serve's `/metrics` and in
/// fu-watch's `--metrics` file: users held and flagged, evictions, and each feature's
/// population stability index over recent users (`fu_feature_psi{feature}`).
public final class StreamGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let users: Gauge
    private let flagged: Gauge
    private let evictions: Gauge
    /// One series a feature measured now: a reloaded model's features replace the old ones',
    /// which would otherwise report the old model's last values forever.
    private let drift = Mutex<[String: Gauge]>([:])

    /// `source` ends the users' help text: where the stream's events come from.
    public init(registry: PrometheusCollectorRegistry, source: String) {
        self.registry = registry
        users = registry.makeGauge(name: "fu_stream_users", help: "Users whose counters the stream holds (\(source))")
        flagged = registry.makeGauge(name: "fu_stream_users_flagged", help: "Users the stream flags as fake now")
        evictions = registry.makeGauge(
            name: "fu_stream_evictions", help: "Users forgotten at --max-users, over the stream's life (its state carries the count)")
    }

    public func set(users: Int, flagged: Int, evictions: Int) {
        self.users.set(Int64(users))
        self.flagged.set(Int64(flagged))
        self.evictions.set(Int64(evictions))
    }

    /// Each measured feature's PSI; nil (a model without training deciles, or no users yet)
    /// removes them all.
    public func setDrift(_ report: DriftReport?) {
        let measured = report?.measured ?? []
        drift.withLock { series in
            let current = Set(measured.map(\.feature))
            for (feature, gauge) in series where !current.contains(feature) {
                registry.unregisterGauge(gauge)
                series[feature] = nil
            }
            for feature in measured {
                let gauge = series[feature.feature] ?? registry.makeGauge(
                    name: "fu_feature_psi", labels: [("feature", feature.feature)],
                    help: "Population stability index of the feature over recent users against its training deciles")
                series[feature.feature] = gauge
                gauge.set(feature.psi!)
            }
        }
    }
}
