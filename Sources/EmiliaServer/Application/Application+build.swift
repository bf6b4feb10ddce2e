import EmiliaIngest
import EmiliaModel
import EmiliaStorage
import EmiliaStore
import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import ServiceLifecycle

/// The version `/health` reports.
public let emiliaVersion = "0.1.0"

/// Builds the whole Emilia server: the store (SQLite in `configuration.dataDirectory`, or PostgreSQL at
/// `configuration.databaseURL`), its services, every route.
///
/// `emilia serve` and the tests call this same function. `onServerRunning` receives the bound port.
public func buildApplication(
    configuration: ServerConfiguration,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    try configuration.validate()
    let metrics = ServerMetrics()
    let opened = try await configuration.storage().open(logger: logger, tuning: configuration.storageTuning(monitor: metrics.storeMonitor))
    let store = opened.store
    let rejections = RejectionRecorder(
        store: store, metrics: metrics, perMinute: configuration.detailedRejectionsPerMinute,
        burst: configuration.detailedRejectionBurst,
        flushInterval: configuration.rejectionCountInterval)
    let router = buildRouter(store: store, configuration: configuration, metrics: metrics, rejections: rejections)
    // Started first and stopped last (services stop in reverse order): the connections outlive every user.
    var services: [any Service] = [StoreCloser(close: opened.close)] + opened.services
    if let retention = configuration.retention {
        services.append(RetentionService(store: store, age: retention, logger: logger, monitor: metrics.storeMonitor))
    }
    // Stopped first (services stop in reverse order), so its last counts reach the writer before it closes.
    services.append(rejections)
    let bodyTimeout = configuration.bodyTimeout
    let http = HTTP1Channel.Configuration(
        additionalChannelHandlers: [BodyDeadlineHandler(timeout: bodyTimeout), ExpectContinueHandler()], idleTimeout: .seconds(75))
    var server = HTTPServerBuilder.http1(configuration: http)
    if let tls = try configuration.tlsConfiguration() { server = try .tls(server, tlsConfiguration: tls) }
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Emilia"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// Every route of the server on one router; `routes` records them (the OpenAPI test reads it).
func buildRouter(
    store: any EventStore, configuration: ServerConfiguration, metrics: ServerMetrics,
    rejections: RejectionRecorder, routes: RouteTable = RouteTable()
) -> Router<EmiliaRequestContext> {
    let root = Router(context: EmiliaRequestContext.self)
    let router = RecordingRouter(router: root, table: routes)
    // Outermost first: the id is on every log line and answer; metrics and logs see the final answer; errors become
    // answers before either sees them.
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: AccessLogMiddleware(metrics: metrics))
    router.add(
        middleware: TransportSecurityMiddleware(
            trustProxy: configuration.trustProxy, servesHTTPS: configuration.tlsCertificatePath != nil))
    router.add(middleware: ErrorMiddleware())
    let limits = Ingestor.Limits(
        maximumBodyBytes: configuration.maximumBodyBytes, ratePerSecond: configuration.rateLimitPerSecond,
        rateBurst: configuration.rateLimitBurst, unknownTokensPerSecond: configuration.unknownTokenRatePerSecond,
        unknownTokenBurst: configuration.unknownTokenBurst)
    let ingest = IngestController(
        // Every node holds its share of a token's limit, so the cluster holds the limit (docs/decisions.md).
        ingestor: Ingestor(store: store, limits: limits, share: { 1 / Double(max(1, store.nodeCount)) }),
        budget: ByteBudget(
            capacity: configuration.ingestMemoryBudget,
            shareLimit: max(configuration.ingestMemoryBudget / 4, ByteBudget.copiesPerByte * configuration.maximumBodyBytes)),
        rejections: rejections, metrics: metrics, bodyTimeout: configuration.bodyTimeout)
    ingest.addRoutes(to: router)
    OperationsController(store: store, metrics: metrics).addRoutes(to: router)
    OpenAPIDocument.addRoute(to: router)
    if configuration.enableBenchmarkRoutes {
        ingest.addUnstoredRoute(to: router)
        router.post("/noop/webhooks/v1/pos/:token") { request, _ -> Response in
            _ = try await request.body.collect(upTo: configuration.maximumBodyBytes)
            let answer = IngestAnswer.json(
                eventID: Ingestor.unstoredEventID, receivedAt: Date(), env: "prod", isDuplicate: false, warningsJSON: "[]")
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
    }
    let admin = router.group("api/v1").add(middleware: AdminAuthMiddleware(adminKey: configuration.adminKey))
    AdminController(store: store, configuration: configuration).addRoutes(to: admin)
    ReadAPIController(store: store).addRoutes(to: admin)
    let signIns = RateLimiter(rate: configuration.signInFailuresPerMinute / 60, burst: configuration.signInFailureBurst)
    DashboardController(
        store: store, auth: DashboardAuth(adminKey: configuration.adminKey), signInFailures: signIns,
        configuration: configuration
    )
    .addRoutes(to: router)
    return root
}

/// Closes the store's connections once the server shuts down (after every other service stopped).
private struct StoreCloser: Service {
    let close: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
