import HTTPTypes
import NIOHTTPTypes
import NIOCore

/// Answers `Expect: 100-continue` (curl sends it for uploads over 1 MB and then waits a
/// second for the answer before sending the body anyway). A body announced as larger than
/// --max-body gets no 100: the route answers 413 without waiting for it.
final class ContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    let maxBody: Int

    init(maxBody: Int) {
        self.maxBody = maxBody
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let request) = unwrapInboundIn(data),
            request.headerFields[.expect]?.lowercased() == "100-continue",
            (request.headerFields[.contentLength].flatMap { Int($0) } ?? 0) <= maxBody
        {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
