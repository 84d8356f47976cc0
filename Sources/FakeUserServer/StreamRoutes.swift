import FakeUserKit
import Foundation
import Logging
import Hummingbird
import NIOCore
import NIOPosix

/// `POST /events`, `GET /users/ID` and `DELETE /users/ID`: fu-watch's per-user state over
/// HTTP. Events add to each user's counters; answers give the affected users' current
/// `UserId,Fake,Probability,events` (`/predict` stays stateless).
struct StreamRoutes: Sendable {
    let streams: StreamStore
    let settings: ServerSettings
    let metrics: ServerMetrics
    let logger: Logger

    static let usersPrefix = "/users/"

    func ingest(_ request: Request, context: ServeContext) async throws -> Response {
        let format = PredictHandler.predictionFormat(accept: request.headers[.accept])
        let events = try await PredictHandler.events(of: request, settings: settings, eventLoop: context.eventLoop)
        let explain = request.uri.queryParameters.get("explain")
        let limits = settings.batchLimits
        let (scores, checkpointFailure) = events.count < settings.inlineScoringLimit && !startsWithZstdFrame(events)
            ? try streams.ingest(events, limits: limits, explain: explain)
            : try await NIOThreadPool.singleton.runIfActive { [streams] in try streams.ingest(events, limits: limits, explain: explain) }
        if let checkpointFailure {
            logger.error("checkpoint of the stream's state failed, tried again after --checkpoint-every more events: \(checkpointFailure)")
            metrics.recordCheckpointFailure()
        }
        context.note.record(users: scores.users.count)
        metrics.recordIngested(scores.batchEvents)
        return PredictHandler.predictionResponse(try scores.rendered(as: format), format: format)
    }

    /// One user's current score: a JSON object (or CSV with its header), 404 if not held.
    func user(_ request: Request, context: ServeContext) throws -> Response {
        let id = try Self.userID(request)
        guard let scores = try streams.score(id: id, explain: request.uri.queryParameters.get("explain")) else { throw Self.unknown(id) }
        context.note.record(users: 1)
        let format = PredictHandler.predictionFormat(accept: request.headers[.accept])
        let output = ByteOutput(inMemory: ())
        try scores.write(to: output, format: format == .csv ? .csv : .jsonl)
        return PredictHandler.predictionResponse(try output.collected(), format: format)
    }

    /// Forgets a user (an erasure request): 204, or 404 if not held.
    func forget(_ request: Request, context: ServeContext) throws -> Response {
        let id = try Self.userID(request)
        guard streams.forget(id: id) else { throw Self.unknown(id) }
        context.note.record(users: 1)
        return Response(status: .noContent)
    }

    /// The id after `/users/`, percent-decoded.
    static func userID(_ request: Request) throws -> String {
        let encoded = request.uri.path.dropFirst(usersPrefix.count)
        guard let id = String(encoded).removingPercentEncoding, !id.isEmpty else {
            throw APIError(.badRequest, "the path must be /users/ID with the UserId percent-encoded")
        }
        return id
    }

    static func unknown(_ id: String) -> APIError {
        APIError(.notFound, "no user '\(LogText.escaped(id))' in the stream's state: never sent to POST /events, forgotten, or evicted (--max-users)")
    }
}
