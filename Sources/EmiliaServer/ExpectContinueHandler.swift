import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// `Expect: 100-continue` (sent by .NET, curl for large bodies, and many POS stacks): the client holds its body
/// back until the server answers `100 Continue`, or sends a final answer instead.
///
/// The webhook route sends the `100` itself, once the token, env, rate and declared size have passed
/// (`EmiliaRequestContext.acceptBody(of:)`); every other route gets it at once. A final answer that goes out before
/// any `100` was sent refuses the body unread: it carries `Connection: close` and the connection closes after it,
/// since whatever the client sends next could be that body or a new request.
final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Paths whose route decides on the `100` itself.
    static let routeDecidedPrefix = "/webhooks/"

    private enum State {
        /// No `Expect: 100-continue` on the current request, or its `100` went out.
        case idle
        /// The client waits for a `100` or a final answer.
        case awaitingContinue
        /// A final answer refused the body: close once it is written.
        case closeAfterAnswer
    }

    private var state = State.idle

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            state = .idle
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                state = .awaitingContinue
                if !(head.path ?? "").hasPrefix(Self.routeDecidedPrefix) {
                    state = .idle
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch (unwrapOutboundIn(data), state) {
        case (.head(let response), .awaitingContinue) where response.status == .continue:
            state = .idle
            context.write(data, promise: promise)
        case (.head(let response), _) where response.status == .continue:
            promise?.succeed()  // no `100` the client did not ask for, and never two
        case (.head(var response), .awaitingContinue):
            state = .closeAfterAnswer
            response.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case (.end, .closeAfterAnswer):
            state = .idle
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
        default:
            context.write(data, promise: promise)
        }
    }
}
