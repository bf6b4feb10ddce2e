import EmiliaStore
import Hummingbird
import Logging

/// `GET /health` (storage checked; 503 when it fails) and `GET /metrics` (Prometheus text).
struct OperationsController: Sendable {
    let store: any EventStore
    let metrics: ServerMetrics

    func addRoutes(to router: some RouterMethods<EmiliaRequestContext>) {
        router.get("health") { _, context -> Response in
            do {
                try await store.checkHealth()
                return Self.json(.ok, "{\"status\":\"ok\",\"storage\":\"ok\",\"version\":\"\(emiliaVersion)\"}")
            } catch {
                context.logger.error("Health check failed", metadata: ["error": "\(error)"])
                return Self.json(
                    .serviceUnavailable,
                    "{\"status\":\"error\",\"storage\":\"unavailable\",\"version\":\"\(emiliaVersion)\",\"detail\":\"Storage unavailable\"}"
                )
            }
        }
        router.get("metrics") { _, _ -> Response in
            metrics.recordBacklog(store.writeBacklog())
            metrics.recordNodes(store.nodeCount)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
