import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Ends a request whose body has not fully arrived `timeout` after its head: one timer per request on the
/// connection's own event loop (no task or thread per request), which fails the body stream with `BodyTimedOut`.
/// The ingest route answers that with a recorded 408; any other route answers 408 through the error itself.
/// The connection closes afterwards, since the rest of that body can no longer be told apart from a next request.
final class BodyDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    /// The body stream's error when the deadline passes.
    struct BodyTimedOut: HTTPResponseError {
        let timeout: Duration
        var status: HTTPResponse.Status { .requestTimeout }
        var headers: HTTPFields { [.connection: "close"] }
        var detail: String {
            let (seconds, attoseconds) = timeout.components
            let spelled = attoseconds == 0 ? "\(seconds) s" : "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
            return "Request body not received within \(spelled)"
        }

        func response(from request: Request, context: some RequestContext) throws -> Response {
            try APIError(status, detail, headers: headers).response(from: request, context: context)
        }
    }

    private let timeout: Duration
    private var timer: Scheduled<Void>?

    init(timeout: Duration) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            timer?.cancel()
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let (seconds, attoseconds) = timeout.components
            timer = context.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
                bound.value.handler.timer = nil
                bound.value.context.fireErrorCaught(BodyTimedOut(timeout: bound.value.handler.timeout))
            }
        case .end:
            timer?.cancel()
            timer = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
