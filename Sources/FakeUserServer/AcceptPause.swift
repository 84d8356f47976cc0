#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore

/// Stops accepting for a moment when accept fails for want of descriptors (EMFILE,
/// ENFILE), as libuv and nginx do. NIO's own AcceptBackoffHandler delays the next read,
/// but the listening socket stays registered and readable while connections wait in the
/// backlog, so the event loop retried accept at once: 0.76 CPU-seconds a second, at the
/// limit, answering nothing (issue 16, repro 18). Turning autoRead off unregisters it;
/// turning it back on retries.
final class AcceptPauseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    let pause: TimeAmount
    let logger: Logger
    /// Paused since the last accept that succeeded: the warning is logged once an episode.
    private var atLimit = false

    init(pause: TimeAmount = .milliseconds(100), logger: Logger) {
        self.pause = pause
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if atLimit {
            atLimit = false
            logger.notice("accepting connections again")
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? IOError, error.errnoCode == EMFILE || error.errnoCode == ENFILE,
            let options = context.channel.syncOptions
        else {
            context.fireErrorCaught(error)
            return
        }
        if !atLimit {
            atLimit = true
            logger.warning("not accepting connections: out of file descriptors (\(error.errnoCode == EMFILE ? "EMFILE, ulimit -n" : "ENFILE")); retrying every \(pause.nanoseconds / 1_000_000) ms")
        }
        try? options.setOption(ChannelOptions.autoRead, value: false)
        context.eventLoop.assumeIsolated().scheduleTask(in: pause) {
            try? options.setOption(ChannelOptions.autoRead, value: true)
        }
        context.fireErrorCaught(error)
    }
}
