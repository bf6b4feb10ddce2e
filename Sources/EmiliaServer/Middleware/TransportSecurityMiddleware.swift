import Foundation
import HTTPTypes
import Hummingbird

/// Knows whether a request came over HTTPS, and who sent it: the server's own TLS, or behind a trusted reverse proxy
/// its `X-Forwarded-Proto` and `X-Forwarded-For`. Answers to secure requests carry `Strict-Transport-Security`.
struct TransportSecurityMiddleware: RouterMiddleware {
    typealias Context = EmiliaRequestContext
    /// Honour `X-Forwarded-For` and `X-Forwarded-Proto` (only behind a reverse proxy that sets them).
    var trustProxy = false
    /// The server itself speaks HTTPS: every request is secure.
    var servesHTTPS = false

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if trustProxy {
            // The last address is the one the trusted proxy appended; earlier ones are whatever the client sent.
            if let forwarded = request.headers[Self.forwardedFor]?.split(separator: ",").last {
                let address = forwarded.trimmingCharacters(in: .whitespaces)
                if !address.isEmpty, address.count <= 64 { context.clientAddress = address }
            }
            context.isSecure = request.headers[Self.forwardedProto]?.lowercased() == "https"
        }
        if servesHTTPS { context.isSecure = true }
        var response = try await next(request, context)
        if context.isSecure { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}
