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
///
/// A client that sends no `Expect` and `Connection: close` writes its whole body before it reads any answer (Python's
/// urllib, many POS stacks). When its request is answered before its body has arrived (413, 401), the server stops
/// reading that connection once it has answered, so such a client would wait out its own timeout on a full socket.
/// The rest of that body is read and dropped instead (at most `maximumDrainBytes`, within `drainLimit`), and the client
/// then reads its answer.
final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Paths whose route decides on the `100` itself.
    static let routeDecidedPrefix = "/webhooks/"
    /// How long a refused client has to read the answer before the connection closes for good.
    static let lingerAfterRefusal: TimeAmount = .seconds(2)
    /// How much of an answered request's body is read and dropped on a closing connection, and for how long.
    static let maximumDrainBytes = 64 * 1024 * 1024
    static let drainLimit: TimeAmount = .seconds(30)

    /// A request whose answer has not ended yet.
    private struct Exchange {
        var expectsContinue: Bool
        /// The `100` goes out without waiting for the route.
        var continuesAtOnce: Bool
        var continued = false
        /// The request asked to close the connection after its answer (as the server reads it: exactly `close`).
        var closesConnection = false
    }

    /// Oldest first: answers go out in the order the requests came.
    private var exchanges: [Exchange] = []
    private var closeAfterAnswer = false
    /// A request's head has arrived and its end has not.
    private var receivingBody = false
    /// Bytes dropped since the answer to a closing connection's request went out before its body had arrived.
    private var drained: Int?
    /// Closes the connection when the drop has taken `drainLimit`.
    private var drainDeadline: Scheduled<Void>?

    static func expectsContinue(_ fields: HTTPFields) -> Bool {
        fields[.expect]?.lowercased() == "100-continue"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if let drained {
            drop(part, after: drained, context: context)
            return
        }
        switch part {
        case .head(let head):
            receivingBody = true
            let expects = Self.expectsContinue(head.headerFields)
            exchanges.append(
                Exchange(
                    expectsContinue: expects,
                    continuesAtOnce: expects && !(head.path ?? "").hasPrefix(Self.routeDecidedPrefix),
                    closesConnection: head.headerFields[.connection] == "close"))
            if exchanges.count == 1 { continueAtOnceIfDue(context: context) }
        case .body:
            break
        case .end:
            receivingBody = false
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Nothing downstream asks for more while a body is dropped: ask here.
        if drained != nil { context.read() } else { context.fireChannelReadComplete() }
    }

    private func drop(_ part: HTTPRequestPart, after drained: Int, context: ChannelHandlerContext) {
        guard case .body(let bytes) = part else { return }
        let total = drained + bytes.readableBytes
        self.drained = total
        if total > Self.maximumDrainBytes { context.close(promise: nil) }
    }

    /// Reads and drops the rest of the body of a request answered early on a connection that closes after it.
    private func startDraining(context: ChannelHandlerContext) {
        drained = 0
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        drainDeadline = context.eventLoop.scheduleTask(in: Self.drainLimit) { bound.value.close(promise: nil) }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        drainDeadline?.cancel()
        drainDeadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        drainDeadline?.cancel()
        drainDeadline = nil
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
            let answered = exchanges.removeFirst()
            guard closeAfterAnswer else {
                context.write(data, promise: promise)
                if answered.closesConnection && receivingBody && exchanges.isEmpty { startDraining(context: context) }
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
