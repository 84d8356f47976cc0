import FakeUserKit

/// What `fu-serve` is asked to do; every limit has a default a laptop and a small VM cope with.
public struct ServerSettings: Sendable {
    public var modelPath: String
    public var host = "127.0.0.1"
    public var port = 8000
    /// Largest request body, and largest events text once a zstd body is decoded.
    public var maxBody = 16 << 20
    public var maxEvents = 1_000_000
    /// A request's body must have arrived within this time; a connection idle for twice as
    /// long is closed.
    public var requestTimeout: Duration = .seconds(30)
    /// Bodies at least this large, and zstd bodies, are scored on the thread pool; smaller
    /// ones inline, where a thread hop would cost more than the scoring.
    public var inlineScoringLimit = 64 << 10
    /// The stream (`/events`): users kept at most, and where its state is loaded from and saved.
    public var maxUsers = WatchOptions.defaultMaxUsers
    public var statePath: String?
    public var checkpointEvery: Int?
    /// `fu_feature_psi` on /metrics is over this many of the last users scored; 0: none.
    public var driftWindow = 1000

    public init(modelPath: String) {
        self.modelPath = modelPath
    }

    var batchLimits: EventBatchLimits { EventBatchLimits(maxBytes: maxBody, maxEvents: maxEvents) }
}
