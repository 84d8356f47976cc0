import Foundation
import FakeUserKit
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The fu-serve application: routes, middleware, and the SIGHUP reload service. `run` it
/// with `runService()` (which also stops gracefully on SIGTERM and SIGINT), or test it
/// with HummingbirdTesting.
public func makeServer(
    settings: ServerSettings, store: ModelStore, streams: StreamStore, metrics: ServerMetrics = ServerMetrics(), logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> Application<RouterResponder<ServeContext>> {
    let routes = RouteTable(methods: [
        "/predict": [.post], "/health": [.get, .head], "/ready": [.get, .head], "/model": [.get, .head],
        "/metrics": [.get, .head], "/events": [.post], "/users/{id}": [.get, .head, .delete],
    ])
    let router = Router(context: ServeContext.self, options: .autoGenerateHeadEndpoints)
    // Middleware first: routes take the middleware added before them.
    let log = AccessLog(logger: logger, metrics: metrics)
    router.add(middleware: AccessLogMiddleware(log: log, routes: routes))
    router.add(middleware: RouteTableMiddleware(routes: routes))
    let predict = PredictHandler(store: store, settings: settings, metrics: metrics)
    router.post("/predict") { request, context in try await predict.handle(request, context: context) }
    let stream = StreamRoutes(streams: streams, settings: settings, metrics: metrics, logger: logger)
    router.post("/events") { request, context in try await stream.ingest(request, context: context) }
    router.get("/users/:id") { request, context in try stream.user(request, context: context) }
    router.delete("/users/:id") { request, context in try stream.forget(request, context: context) }
    router.get("/health") { _, _ in jsonResponse(.object([("status", .string("ok"))])) }
    router.get("/ready") { _, _ in
        jsonResponse(.object([("status", .string("ready")), ("model_sha256", .string(store.current.sha256))]))
    }
    router.get("/model") { _, _ in jsonResponse(modelDescription(store.current)) }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.rendered(stream: streams.figures))))
    }
    return Application(
        router: router,
        // Idle longer than a body may take, so a slow body gets its 408 before the
        // connection is dropped.
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [ContinueHandler(maxBody: settings.maxBody), ParserErrorHandler(log: log)],
                idleTimeout: TimeAmount.nanoseconds(2 * settings.requestTimeout.nanoseconds))),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "fu-serve/\(fuVersion)"),
        services: [ModelReloadService(store: store, streams: streams, metrics: metrics, logger: logger)],
        onServerRunning: { channel in
            // Hummingbird has no hook on the listening channel before it runs; added now,
            // it sees every accept after the first.
            try? await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(logger: logger), position: .first)
            }.get()
            await onServerRunning(channel)
        },
        eventLoopGroupProvider: .shared(serverEventLoops),
        logger: logger)
}

/// HTTP parsing gets half the cores and scoring, on Swift's task pool, the rest: on two
/// cores one event loop instead of NIO's default two took wrk from 3,900 to 5,000
/// requests/s and p99 from 12 to 6 ms (bench/serve.sh). One group for the process, as
/// NIO's own singleton.
let serverEventLoops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount / 2))

/// What `GET /model` says: the file, its SHA-256, when it was loaded, and the model's own
/// features, threshold, calibration (when it has one: the probabilities are then
/// calibrated) and training facts.
func modelDescription(_ loaded: LoadedModel) -> JSONValue {
    var pairs: [(String, JSONValue)] = [
        ("path", .string(loaded.path)),
        ("sha256", .string(loaded.sha256)),
        ("loaded_at", .string(loaded.loadedAt.ISO8601Format())),
    ]
    if case .object(let model) = loaded.model.json {
        let keep: Set<String> = ["format", "version", "kind", "features", "threshold", "calibration", "stream_policy", "training"]
        pairs += model.filter { keep.contains($0.0) }
    }
    return .object(pairs)
}

/// On SIGHUP, reads and validates the model file again and swaps it in; a bad file keeps
/// the old model serving.
struct ModelReloadService: Service {
    let store: ModelStore
    let streams: StreamStore
    let metrics: ServerMetrics
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            await reload()
        }
    }

    func reload() async {
        do {
            let loaded = try store.reload()
            // The stream's users are scored again from their counters (LoadedModel checked
            // that events give every feature, so this does not fail on the new model), on
            // the thread pool: it takes a while with many users.
            try await NIOThreadPool.singleton.runIfActive { [streams] in try streams.replaceModel(loaded.model) }
            metrics.recordReload(succeeded: true)
            logger.notice("model reloaded", metadata: ["path": "\(loaded.path)", "sha256": "\(loaded.sha256)"])
        } catch {
            metrics.recordReload(succeeded: false)
            logger.error("model reload failed, still serving the previous model: \(error)")
        }
    }
}
