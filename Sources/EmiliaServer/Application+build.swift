import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging

/// The version `/health` reports.
public let emiliaVersion = "0.1.0"

/// Builds the whole Emilia server: the store in `configuration.dataDirectory`, its writer service, every route.
///
/// `emilia serve` and the tests call this same function. `onServerRunning` receives the bound port.
public func buildApplication(
    configuration: ServerConfiguration,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let metrics = ServerMetrics()
    let store = try SQLiteEventStore(
        directory: configuration.dataDirectory, logger: logger, tokenCacheLifetime: configuration.tokenCacheLifetime,
        busyTimeout: configuration.storageBusyTimeout,
        separateCheckpoints: configuration.separateCheckpoints,
        maximumPendingWrites: configuration.maximumPendingWrites,
        commitObserver: { size, duration in metrics.recordCommit(batchSize: size, duration: duration) })
    let router = buildRouter(store: store, configuration: configuration, metrics: metrics)
    var services = store.services
    if let retention = configuration.retention {
        services.append(RetentionService(store: store, age: retention, logger: logger))
    }
    let bodyTimeout = configuration.bodyTimeout
    let http = HTTP1Channel.Configuration(
        additionalChannelHandlers: [BodyDeadlineHandler(timeout: bodyTimeout)], idleTimeout: .seconds(75))
    return Application(
        router: router,
        server: .http1(configuration: http),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Emilia"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// Every route of the server on one router.
func buildRouter(store: any EventStore, configuration: ServerConfiguration, metrics: ServerMetrics) -> Router<EmiliaRequestContext> {
    let router = Router(context: EmiliaRequestContext.self)
    router.add(middleware: EdgeMiddleware(metrics: metrics))
    IngestController(
        store: store, configuration: configuration,
        rateLimiter: RateLimiter(rate: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst),
        metrics: metrics
    ).addRoutes(to: router)
    OperationsController(store: store, metrics: metrics).addRoutes(to: router)
    if configuration.enableNoOpRoute {
        router.post("/noop/webhooks/v1/pos/:token") { request, _ -> Response in
            _ = try await request.body.collect(upTo: configuration.maximumBodyBytes)
            return OperationsController.json(.ok, #"{"status":"received","event_id":"00000000-0000-7000-8000-000000000000","duplicate":false,"warnings":[]}"#)
        }
    }
    let admin = router.group("api/v1").add(middleware: AdminAuthMiddleware(adminKey: configuration.adminKey))
    AdminController(store: store, configuration: configuration).addRoutes(to: admin)
    ReadAPIController(store: store).addRoutes(to: admin)
    DashboardController(store: store, auth: DashboardAuth(adminKey: configuration.adminKey), configuration: configuration)
        .addRoutes(to: router)
    return router
}
