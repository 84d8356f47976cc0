import Synchronization

/// The last N users a scorer saw, kept as each feature's bin, for the PSI of recent
/// traffic (fu-serve's `/metrics`; fu-watch can feed it the same way). Adding a user and
/// asking for the PSI cost a step per feature and bin, whatever N: the window holds bin
/// numbers, not values, and keeps each bin's count as users come and go. Safe to share
/// between threads.
public final class DriftWindow: Sendable {
    public let capacity: Int

    private struct State {
        var names: [String] = []
        var distribution: TrainingDistribution?
        var trainingUsers = 0
        /// Row-major bins of the users in the window, a ring: `next` is the oldest once full.
        var bins: [UInt8] = []
        var next = 0
        var users = 0
        var counts: [[Int]] = []
    }

    private let state = Mutex(State())

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Adds the table's users (columns in the model's feature order), oldest first. A model
    /// with another training distribution (a reload) starts the window afresh; a model
    /// without one empties it (it is not measured).
    public func add(_ table: FeatureTable, model: Model) {
        guard let distribution = model.trainingDistribution, table.featureCount == model.features.count else {
            state.withLock { $0 = State() }  // the users so far were measured against another model
            return
        }
        state.withLock { state in
            if state.distribution != distribution || state.names != model.features {
                state = State(
                    names: model.features, distribution: distribution, trainingUsers: model.training.rows,
                    bins: [UInt8](repeating: 0, count: capacity * model.features.count),
                    counts: distribution.features.map { [Int](repeating: 0, count: $0.binCount) })
            }
            let width = model.features.count
            // Only the last `capacity` rows can stay.
            for row in max(0, table.rowCount - capacity)..<table.rowCount {
                let slot = state.next * width
                for f in 0..<width {
                    if state.users == capacity { state.counts[f][Int(state.bins[slot + f])] -= 1 }
                    let bin = distribution.features[f].bin(table.values[row * width + f])
                    state.bins[slot + f] = UInt8(bin)
                    state.counts[f][bin] += 1
                }
                state.next = (state.next + 1) % capacity
                state.users = min(state.users + 1, capacity)
            }
        }
    }

    /// Each feature's drift over the users in the window; nil before the first.
    public func report() -> DriftReport? {
        state.withLock { state in
            guard let distribution = state.distribution, state.users > 0 else { return nil }
            let features = zip(state.names, zip(distribution.features, state.counts)).map { name, pair in
                FeatureDrift(feature: name, distribution: pair.0, counts: pair.1)
            }
            return DriftReport(users: state.users, trainingUsers: state.trainingUsers, features: features)
        }
    }
}
