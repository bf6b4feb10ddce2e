import EmiliaIngest
import EmiliaStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The outermost middleware: request ids, one place where errors become JSON answers, access logs, metrics.
///
/// Logs carry the route template (`/webhooks/v1/pos/{token}`), never the path with its token, and never bodies.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = EmiliaRequestContext
    let metrics: ServerMetrics
    /// Honour `X-Forwarded-For` and `X-Forwarded-Proto` (only behind a reverse proxy that sets them).
    var trustProxy = false
    /// The server itself speaks HTTPS: every request is secure.
    var servesHTTPS = false

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    static let requestIDHeader = HTTPField.Name("X-Request-ID")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        if let sent = request.headers[Self.requestIDHeader], Self.isAcceptableRequestID(sent) {
            context.requestID = sent
            context.requestIDWasSent = true
        } else {
            context.requestID = Self.makeRequestID()
        }
        if trustProxy {
            // The last address is the one the trusted proxy appended; earlier ones are whatever the client sent.
            if let forwarded = request.headers[Self.forwardedFor]?.split(separator: ",").last {
                let address = forwarded.trimmingCharacters(in: .whitespaces)
                if !address.isEmpty, address.count <= 64 { context.clientAddress = address }
            }
            context.isSecure = request.headers[Self.forwardedProto]?.lowercased() == "https"
        }
        if servesHTTPS { context.isSecure = true }
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = try Self.response(for: error, request: request, context: context)
        }
        if context.isSecure { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        response.headers[Self.requestIDHeader] = context.requestID
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code)
        if route.hasPrefix("/webhooks/") { metrics.recordIngest(duration: ContinuousClock.now - started) }
        if response.status.code >= 500 || context.logger.logLevel <= .debug {
            context.logger.log(
                level: response.status.code >= 500 ? .warning : .debug, "Request answered",
                metadata: [
                    "method": .string(request.method.rawValue), "route": .string(route),
                    "status": .stringConvertible(response.status.code),
                ])
        }
        return response
    }

    /// The one place errors become answers: storage failures are 503 with `Retry-After`, anything unexpected a 500
    /// whose text never leaks; dashboard pages get an HTML page, everything else `{"detail": …}` JSON.
    static func response(for error: any Error, request: Request, context: Context) throws -> Response {
        var apiError: APIError
        switch error {
        case let refusal as IngestRefusal:
            apiError = APIError(refusal)
        case let error as StoreError:
            if error.code == .unavailable {
                context.logger.error("Storage unavailable", metadata: ["error": "\(error)"])
            }
            apiError = APIError.from(error)
        case let error as any HTTPResponseError:
            apiError = jsonError(for: error, request: request)
        default:
            context.logger.error("Unhandled error", metadata: ["error_type": "\(type(of: error))"])
            apiError = APIError(.internalServerError, "Internal server error")
        }
        if DashboardErrorPage.isPage(request) { return DashboardErrorPage.response(for: apiError) }
        return try apiError.response(from: request, context: context)
    }

    /// Hummingbird's own errors (404 for unknown routes, …) answered as `{"detail": …}` JSON too.
    static func jsonError(for error: any HTTPResponseError, request: Request) -> APIError {
        if let apiError = error as? APIError { return apiError }
        if let timedOut = error as? BodyDeadlineHandler.BodyTimedOut {
            return APIError(.requestTimeout, timedOut.detail, headers: timedOut.headers)
        }
        var detail = error.status.reasonPhrase
        if let httpError = error as? HTTPError, let message = httpError.body { detail = message }
        var hint: String?
        if error.status == .notFound, request.uri.path.hasPrefix("/webhook"),
            request.headers[.authorization]?.lowercased().hasPrefix("bearer ") == true
        {
            hint = "the token goes in the URL path, not in the Authorization header: POST /webhooks/v1/pos/{token}?env=dev"
        }
        return APIError(error.status, detail, hint: hint)
    }

    /// A random version-4 UUID in lowercase, spelled straight into bytes.
    static func makeRequestID() -> String {
        var random = SystemRandomNumberGenerator()
        let high = (random.next() as UInt64) & ~(0xF << 12) | (0x4 << 12)  // version 4
        let low = (random.next() as UInt64) & ~(0x3 << 62) | (0x2 << 62)  // RFC 4122 variant
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[index] = UInt8(ascii: "-")
                    index += 1
                }
                let word = nibble < 16 ? high : low
                buffer[index] = digits[Int((word >> (60 - 4 * UInt64(nibble % 16))) & 0xF)]
                index += 1
            }
            return index
        }
    }

    /// Up to 200 visible ASCII characters: anything else is replaced by a generated id.
    static func isAcceptableRequestID(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 200 && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
