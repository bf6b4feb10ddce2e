import HTTPTypes
import Hummingbird
import Logging

/// Counts every answer in the metrics (by route template, method and status; ingest latency too) and logs the 5xx
/// ones, or every request at debug level.
///
/// Logs carry the route template (`/webhooks/v1/pos/{token}`), never the path with its token, and never bodies.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = EmiliaRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
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
}
