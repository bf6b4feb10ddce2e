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
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try Self.jsonResponse(for: error, request: request, context: context)
        } catch {
            context.logger.error("Unhandled error", metadata: ["error_type": "\(type(of: error))"])
            response = try APIError(.internalServerError, "Internal server error").response(from: request, context: context)
        }
        response.headers[Self.requestIDHeader] = context.requestID
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code)
        if route.hasPrefix("/webhooks/") { metrics.recordIngest(duration: ContinuousClock.now - started) }
        if response.status.code >= 500 || context.logger.logLevel <= .debug {
            context.logger.log(level: response.status.code >= 500 ? .warning : .debug, "Request answered", metadata: [
                "method": .string(request.method.rawValue), "route": .string(route),
                "status": .stringConvertible(response.status.code),
            ])
        }
        return response
    }

    /// Hummingbird's own errors (404 for unknown routes, …) answered as `{"detail": …}` JSON too.
    static func jsonResponse(for error: any HTTPResponseError, request: Request, context: Context) throws -> Response {
        if let apiError = error as? APIError { return try apiError.response(from: request, context: context) }
        if let timedOut = error as? BodyDeadlineHandler.BodyTimedOut { return try timedOut.response(from: request, context: context) }
        var detail = error.status.reasonPhrase
        if let httpError = error as? HTTPError, let message = httpError.body { detail = message }
        var hint: String?
        if error.status == .notFound, request.uri.path.hasPrefix("/webhook"),
           request.headers[.authorization]?.lowercased().hasPrefix("bearer ") == true {
            hint = "the token goes in the URL path, not in the Authorization header: POST /webhooks/v1/pos/{token}?env=dev"
        }
        return try APIError(error.status, detail, hint: hint).response(from: request, context: context)
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
