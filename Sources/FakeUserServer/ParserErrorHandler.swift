import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser refuses (a malformed request line or header) as every
/// other error is answered: a JSON 400, an access-log line and a count in the metrics.
/// Hummingbird answered it with an empty 400 that no route, log or metric saw.
///
/// A parser error inside a request's body goes on to the route, which answers and logs it;
/// one after a complete request (a malformed request pipelined behind it) is answered once
/// that request's response has ended.
final class ParserErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let log: AccessLog
    /// A request's head has arrived and its end has not.
    private var receiving = false
    /// Responses begun and not ended.
    private var responding = 0
    /// A parser error waiting for the response under way to end.
    private var pending: HTTPParserError?
    /// Since the connection opened or the last response ended: the refused request's latency.
    private var idleSince = ContinuousClock.now

    init(log: AccessLog) {
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            receiving = true
            responding += 1
        case .end:
            receiving = false
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        responding = max(0, responding - 1)
        idleSince = .now
        context.write(data, promise: promise)
        if responding == 0, let error = pending {
            pending = nil
            refuse(error, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !receiving else {
            context.fireErrorCaught(error)
            return
        }
        // Not passed on: Hummingbird would write an empty 400 of its own.
        if responding > 0 {
            pending = parserError
        } else {
            refuse(parserError, context: context)
        }
    }

    /// The JSON 400, its access-log line and count; then the connection closes, as the
    /// parser cannot go on.
    private func refuse(_ error: HTTPParserError, context: ChannelHandlerContext) {
        let failure = APIError(parserError: error)
        let id = log.counter.next()
        let body = failure.body
        let head = HTTPResponse(
            status: failure.status,
            headerFields: [
                .contentType: "application/json; charset=utf-8", .contentLength: String(body.count), .connection: "close",
                .requestID: id,
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        log.record(
            id: id, method: "-", path: "-", route: "unmatched", status: failure.status.code, users: nil,
            elapsed: idleSince.duration(to: .now))
    }
}
