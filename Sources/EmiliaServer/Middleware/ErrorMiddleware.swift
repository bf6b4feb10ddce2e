import EmiliaIngest
import EmiliaStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The one place errors become answers: every error a route throws is caught here and answered.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = EmiliaRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Self.response(for: error, request: request, context: context)
        }
    }

    /// The one place errors become answers: storage failures are 503 with `Retry-After`, anything unexpected a 500
    /// whose text never leaks; dashboard pages get an HTML page, everything else `{"detail": …}` JSON.
    static func response(for error: any Error, request: Request, context: Context) throws -> Response {
        var apiError: APIError
        switch error {
        case let refusal as IngestRefusal:
            apiError = APIError(refusal)
        case let error as RequestError:
            apiError = APIError(error)
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
}
