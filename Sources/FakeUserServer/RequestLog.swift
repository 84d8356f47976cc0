#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FakeUserKit
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The request context of fu-serve: Hummingbird's, plus what the access log needs to hear
/// back from the handler.
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let note = RequestNote()
    /// The connection's event loop, whose timers are cheaper than a sleeping task.
    let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        eventLoop = source.channel.eventLoop
    }
}

/// Written by a handler, read by the access log once the response is made.
final class RequestNote: Sendable {
    private let scoredUsers = Atomic<Int>(-1)

    var users: Int? {
        let value = scoredUsers.load(ordering: .relaxed)
        return value < 0 ? nil : value
    }

    func record(users: Int) { scoredUsers.store(users, ordering: .relaxed) }
}

/// The access log and the request metrics: one line and one count per answer, whether a
/// route made it or the HTTP parser refused the request before any route saw it.
struct AccessLog: Sendable {
    let logger: Logger
    let metrics: ServerMetrics
    let counter = RequestCounter()

    /// `method` and `path` are "-" when the request line could not be parsed.
    func record(id: String, method: String, path: String, route: String, status: Int, users: Int?, elapsed: Duration) {
        metrics.recordRequest(route: route, method: method, status: status, duration: elapsed)
        let millis = Double(elapsed.nanoseconds) / 1e6
        let level: Logger.Level = status >= 500 ? .error : status >= 400 ? .warning : .notice
        logger.log(
            level: level,
            "request id=\(id) method=\(method) path=\(path) status=\(status) users=\(users.map(String.init) ?? "-") latency_ms=\(formatMillis(millis))")
    }
}

/// The outermost middleware: gives the request an id, turns every error into a JSON answer
/// (so the status is known here), and writes one access-log line and the request metrics.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let log: AccessLog
    let routes: RouteTable

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = request.headers[.requestID].flatMap(Self.acceptableID) ?? log.counter.next()
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            if let failure = APIError.from(error) {
                response = failure.response()
            } else {
                log.logger.error("internal error answering a request", metadata: ["id": "\(id)", "error": "\(error)"])
                response = APIError(.internalServerError, "internal error (request \(id))").response()
            }
        }
        response.headers[.requestID] = id
        let path = request.uri.path
        log.record(
            id: id, method: request.method.rawValue, path: path, route: routes.route(path) ?? "unmatched",
            status: response.status.code, users: context.note.users, elapsed: start.duration(to: .now))
        return response
    }

    /// A client's own X-Request-Id is kept when it is short and printable.
    private static func acceptableID(_ text: String) -> String? {
        text.utf8.count <= 64 && !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F } ? text : nil
    }
}

/// Request ids: the process's pid and a sequence number, unique within a log.
final class RequestCounter: Sendable {
    private let value = Atomic<UInt64>(0)
    private let prefix = String(UInt32(truncatingIfNeeded: getpid()), radix: 16)

    func next() -> String {
        let number = value.add(1, ordering: .relaxed).newValue
        return "\(prefix)-\(number)"
    }
}

func formatMillis(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

