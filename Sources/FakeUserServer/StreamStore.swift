import FakeUserKit
import Foundation
import Synchronization

/// The per-user state behind `/events` and `/users/ID`: fu-watch's scorer, taken by one
/// request at a time, saved to `--state` every `--checkpoint-every` events and when the
/// server stops.
public final class StreamStore: Sendable {
    private struct State {
        var scorer: StreamScorer
        var eventsSinceSave = 0
    }
    private let state: Mutex<State>
    let statePath: String?
    let checkpointEvery: Int?

    /// Loads `statePath` when it exists (a bad state file is an error naming it, exit 65).
    public init(model: Model, settings: ServerSettings) throws {
        var options = WatchOptions()
        options.maxUsers = settings.maxUsers
        let scorer = try StreamScorer(model: model, options: options)
        if let path = settings.statePath, FileManager.default.fileExists(atPath: path) {
            try scorer.load(from: path)  // which scores every user again with this server's model and rules
        }
        state = Mutex(State(scorer: scorer))
        statePath = settings.statePath
        checkpointEvery = settings.checkpointEvery
    }

    /// What `/metrics` shows of the stream.
    public struct Figures: Sendable, Equatable {
        public var users: Int
        public var flagged: Int
        public var eventsConsumed: Int
        public var evictions: Int
    }

    /// Adds a request's events and answers the affected users' scores. `explain` is the
    /// request's `?explain=K`, checked against the model the scores come from (a reload
    /// cannot slip between). A checkpoint that cannot be written does not fail the request,
    /// whose events are counted: it is returned, to be logged, and tried again after
    /// another --checkpoint-every events.
    func ingest(_ body: [UInt8], limits: EventBatchLimits, explain text: String?) throws -> (scores: StreamScores, checkpointFailure: (any Error)?) {
        try state.withLock { state in
            let scorer = state.scorer
            let explain = try PredictHandler.explainCount(text, model: scorer.model)
            let scores = try readEventBatch(body, limits: limits, noEvents: { scorer.noScores(explain: explain) }) { reader, _ in
                try scorer.ingest(reader: reader, maxEvents: limits.maxEvents, explain: explain)
            }
            state.eventsSinceSave += scores.batchEvents
            var failure: (any Error)?
            if let checkpointEvery, state.eventsSinceSave >= checkpointEvery {
                state.eventsSinceSave = 0
                do { try save(scorer) } catch { failure = error }
            }
            return (scores, failure)
        }
    }

    func score(id: String, explain text: String?) throws -> StreamScores? {
        try state.withLock { state in
            try state.scorer.score(id: id, explain: try PredictHandler.explainCount(text, model: state.scorer.model))
        }
    }

    func forget(id: String) -> Bool {
        state.withLock { $0.scorer.forget(id: id) }
    }

    /// Rescores every user with a reloaded model.
    func replaceModel(_ model: Model) throws {
        try state.withLock { try $0.scorer.replaceModel(model) }
    }

    public var figures: Figures { state.withLock { Self.figures($0.scorer) } }

    /// Saves the state to `--state` (nothing without it).
    public func save() throws {
        try state.withLock { state in
            try save(state.scorer)
            state.eventsSinceSave = 0
        }
    }

    private func save(_ scorer: StreamScorer) throws {
        if let statePath { try scorer.save(to: statePath) }
    }

    private static func figures(_ scorer: StreamScorer) -> Figures {
        Figures(users: scorer.userCount, flagged: scorer.flaggedCount, eventsConsumed: scorer.consumed, evictions: scorer.evictions)
    }
}
