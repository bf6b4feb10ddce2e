import EmiliaStore
import Hummingbird
import Logging

/// `GET /health` (storage checked; 503 when it fails) and `GET /metrics` (Prometheus text).
struct OperationsController: Sendable {
    let store: any EventStore
    let metrics: ServerMetrics

    func addRoutes(to router: some RouterMethods<EmiliaRequestContext>) {
        router.get("health") { _, context -> EditedResponse<HealthResponse> in
            do {
                try await store.checkHealth()
                return EditedResponse(response: HealthResponse(status: "ok", storage: "ok"))
            } catch {
                context.logger.error("Health check failed", metadata: ["error": "\(error)"])
                return EditedResponse(
                    status: .serviceUnavailable,
                    response: HealthResponse(status: "error", storage: "unavailable", detail: "Storage unavailable"))
            }
        }
        router.get("metrics") { _, _ -> Response in
            metrics.recordBacklog(store.writeBacklog())
            metrics.recordDroppedLogLines(JSONLogHandler.droppedLines)
            metrics.recordNodes(store.nodeCount)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
    }
}

/// `GET /health`'s answer: the storage's state and the server's version.
struct HealthResponse: ResponseEncodable {
    var status: String
    var storage: String
    var version = emiliaVersion
    var detail: String?
}
