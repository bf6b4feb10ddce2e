import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// `Expect: 100-continue` (sent by .NET, curl for large bodies, and many POS stacks): the client holds its body
/// back until the server answers `100 Continue`, or sends a final answer instead.
///
/// The webhook route sends the `100` itself, once the token, env, rate and declared size have passed
/// (`EmiliaRequestContext.acceptBody(of:)`); every other route gets it as soon as its request is the one being
/// answered (a pipelined request waits for the answers before it). A final answer that goes out before any `100`
/// refuses the body unread: it carries `Connection: close`, and once it is written the server stops sending and
/// closes, since whatever the client sends next could be that body or a new request.
final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Paths whose route decides on the `100` itself.
    static let routeDecidedPrefix = "/webhooks/"
    /// How long a refused client has to read the answer before the connection closes for good.
    static let lingerAfterRefusal: TimeAmount = .seconds(2)

    /// A request whose answer has not ended yet.
    private struct Exchange {
        var expectsContinue: Bool
        /// The `100` goes out without waiting for the route.
        var continuesAtOnce: Bool
        var continued = false
    }

    /// Oldest first: answers go out in the order the requests came.
    private var exchanges: [Exchange] = []
    private var closeAfterAnswer = false

    static func expectsContinue(_ fields: HTTPFields) -> Bool {
        fields[.expect]?.lowercased() == "100-continue"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            let expects = Self.expectsContinue(head.headerFields)
            exchanges.append(
                Exchange(
                    expectsContinue: expects,
                    continuesAtOnce: expects && !(head.path ?? "").hasPrefix(Self.routeDecidedPrefix)))
            if exchanges.count == 1 { continueAtOnceIfDue(context: context) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        guard !exchanges.isEmpty else {
            context.write(data, promise: promise)
            return
        }
        switch part {
        case .head(let response) where response.status == .continue:
            guard exchanges[0].expectsContinue, !exchanges[0].continued else {
                promise?.succeed()  // no `100` the client did not ask for, and never two
                return
            }
            exchanges[0].continued = true
            context.write(data, promise: promise)
        case .head(var response):
            if exchanges[0].expectsContinue, !exchanges[0].continued {
                closeAfterAnswer = true
                response.headerFields[.connection] = "close"
            }
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            exchanges.removeFirst()
            guard closeAfterAnswer else {
                context.write(data, promise: promise)
                continueAtOnceIfDue(context: context)
                return
            }
            exchanges.removeAll()
            let written = context.eventLoop.makePromise(of: Void.self)
            if let promise { written.futureResult.cascade(to: promise) }
            context.writeAndFlush(data, promise: written)
            // Stop sending, but let the client read the answer: closing with its unsent body unread could reset the
            // connection before it has.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in
                bound.value.close(mode: .output, promise: nil)
                bound.value.eventLoop.scheduleTask(in: Self.lingerAfterRefusal) { bound.value.close(promise: nil) }
            }
        }
    }

    /// Sends the `100` of the request being answered when it does not wait for its route.
    private func continueAtOnceIfDue(context: ChannelHandlerContext) {
        guard let first = exchanges.first, first.continuesAtOnce, !first.continued else { return }
        exchanges[0].continued = true
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
    }
}
