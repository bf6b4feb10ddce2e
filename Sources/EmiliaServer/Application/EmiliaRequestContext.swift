public import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import NIOHTTPTypes

/// The per-request context: Hummingbird's core storage plus the request id every log line carries.
public struct EmiliaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `X-Request-ID` as sent, or one generated for this request.
    public var requestID: String = ""
    /// True when the client sent its own `X-Request-ID` (it then serves as a dedup key).
    public var requestIDWasSent = false
    /// The signed-in dashboard session (its cookie value), set by the dashboard's sign-in middleware.
    public var dashboardSession: String?
    /// The client's address: the connection's peer, or `X-Forwarded-For` behind a trusted proxy (per-client limits).
    public var clientAddress: String
    /// True when the client reached Emilia over HTTPS (`X-Forwarded-Proto: https` behind a trusted proxy).
    public var isSecure = false

    /// The connection, for the one informational answer a route sends itself (`100 Continue`).
    private let channel: any Channel

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        self.channel = source.channel
    }

    /// Asks for the body of a request sent with `Expect: 100-continue` (see `ExpectContinueHandler`); nothing for
    /// any other request.
    func acceptBody(of request: Request) async {
        guard ExpectContinueHandler.expectsContinue(request.headers) else { return }
        try? await channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue)))
    }

    /// JSON answers with sorted keys: the same data always reads the same.
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Ingest reads bodies itself (streaming, with its own limit); decoding JSON elsewhere stays small.
    public var maxUploadSize: Int { 1024 * 1024 }
}
