public import EmiliaModel
public import EmiliaStore
public import Foundation
public import Logging
import PostgresNIO
public import ServiceLifecycle

/// The event log in PostgreSQL, shared by several stateless `emilia serve` nodes.
///
/// Each node group-commits its own appends (`PostgresCommitWriter`); log positions follow commit order across
/// nodes; one node at a time folds sessions (`PostgresSessionFolder`, elected by an advisory lock); token look-ups
/// are cached for `tokenCacheLifetime`, so a change made through any node holds on all within it.
public final class PostgresEventStore: EventStore {
    /// The tuning of a store.
    public struct Options: Sendable {
        public var tokenCacheLifetime: Duration
        /// How long a call waits for the database before it fails as unavailable (503 + Retry-After at the edge).
        public var callTimeout: Duration
        public var maximumPendingWrites: Int
        public var maximumConnections: Int
        public var monitor: StoreMonitor

        public init(
            tokenCacheLifetime: Duration = .seconds(1), callTimeout: Duration = .seconds(5),
            maximumPendingWrites: Int = 50_000, maximumConnections: Int = 40, monitor: StoreMonitor = StoreMonitor()
        ) {
            self.tokenCacheLifetime = tokenCacheLifetime
            self.callTimeout = callTimeout
            self.maximumPendingWrites = maximumPendingWrites
            self.maximumConnections = maximumConnections
            self.monitor = monitor
        }
    }

    let client: PostgresClient
    let logger: Logger
    let options: Options
    let writer: PostgresCommitWriter
    let folder: PostgresSessionFolder
    let nodes: PostgresNodeRegistry
    let listener: PostgresLogListener
    private let appends = LogSignal()
    private let tokenCache: TokenCache
    private let clientRun: Task<Void, Never>
    let now: @Sendable () -> Date

    /// The services a server runs beside the HTTP server: the node registry, the session folder and the writer
    /// (stopped first, so it commits what is queued).
    public var services: [any Service] { [nodes, listener, folder, writer] }

    /// What a command that writes (`emilia seed`) runs: the folder and the writer. It is no node: it takes no share
    /// of the rate limits and serves no stream.
    public var commandServices: [any Service] { [folder, writer] }

    private init(
        client: PostgresClient, clientRun: Task<Void, Never>, logger: Logger, options: Options,
        now: @escaping @Sendable () -> Date
    ) {
        self.client = client
        self.clientRun = clientRun
        self.logger = logger
        self.options = options
        self.now = now
        let tokenCache = TokenCache(lifetime: options.tokenCacheLifetime)
        self.tokenCache = tokenCache
        let handoff = FoldHandoff()
        writer = PostgresCommitWriter(
            client: client, logger: logger, maximumPending: options.maximumPendingWrites,
            callTimeout: options.callTimeout, now: now, observer: options.monitor.commit, handoff: handoff,
            onTokenChanged: tokenCache.removeAll, onAppended: appends.notify)
        folder = PostgresSessionFolder(client: client, handoff: handoff, logger: logger, monitor: options.monitor)
        nodes = PostgresNodeRegistry(client: client, logger: logger, monitor: options.monitor)
        listener = PostgresLogListener(client: client, signal: appends, logger: logger, monitor: options.monitor)
    }

    /// Connects, applies the missing migrations (under an advisory lock) and answers the store. Throws
    /// `.unavailable` when the database does not answer within 30 s.
    public static func open(
        _ location: PostgresLocation, logger: Logger, options: Options = Options(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> PostgresEventStore {
        let client = PostgresClient(
            configuration: location.clientConfiguration(maximumConnections: options.maximumConnections),
            backgroundLogger: logger)
        // The pool runs for as long as the store is open (until `close`).
        let clientRun = Task { await client.run() }
        do {
            try await PostgresFailure.withDeadline(.seconds(30)) { try await PostgresSchema.migrate(client, logger: logger) }
        } catch {
            clientRun.cancel()
            await clientRun.value
            throw StoreError(.unavailable, "could not open \(location.redacted): \(PostgresFailure.storeError(error).message)")
        }
        return PostgresEventStore(client: client, clientRun: clientRun, logger: logger, options: options, now: now)
    }

    /// Closes the connections. Call after the services have stopped.
    public func close() async {
        clientRun.cancel()
        await clientRun.value
    }

    /// Runs one call against the database within `callTimeout`, as a `StoreError` when it fails.
    func call<Result: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> Result) async throws -> Result {
        let client = client
        return try await PostgresFailure.withDeadline(options.callTimeout) { try await body(client) }
    }

    /// The names of the applied migrations, in order.
    public func appliedMigrations() async throws -> [String] {
        let logger = logger
        return try await call { try await PostgresSchema.appliedMigrations($0, logger: logger) }
    }

    public func activeToken(matching clearToken: String) async throws -> TokenRecord? {
        let instant = now()
        let seconds = instant.timeIntervalSince1970
        return try await tokenCache.record(matching: clearToken, at: instant) { [self] hash in
            try await call { client in
                try await Self.firstToken(
                    client.query(
                        """
                        SELECT t.id, t.name, t.time_zone, t.status, t.prefix, t.created_at, t.table_style
                        FROM token_secrets s JOIN tokens t ON t.id = s.token_id
                        WHERE s.hash = \(hash) AND t.status = 'active' AND (s.expires_at IS NULL OR s.expires_at > \(seconds))
                        """))
            }
        }
    }

    public func recentlyVerifiedToken(matching clearToken: String) -> TokenRecord? {
        tokenCache.recentlyVerified(clearToken, at: now())
    }

    public func append(_ event: IncomingEvent) async throws -> AppendReceipt {
        try await writer.append(event)
    }

    public func recordRejection(_ rejection: Rejection) {
        writer.record(rejection)
    }

    public func createToken(name: String, timeZone: String) async throws -> IssuedToken {
        var issued = try IssuedToken.make(name: name, timeZone: timeZone, at: now())
        issued.record.name = issued.record.name.postgresSafe
        let record = issued.record
        let hash = TokenSecrets.hash(issued.token)
        let logger = logger
        try await call { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    """
                    INSERT INTO tokens (id, name, time_zone, status, prefix, created_at)
                    VALUES (\(record.id), \(record.name), \(record.timeZone), \(record.status.rawValue), \(record.prefix),
                            \(record.createdAt.timeIntervalSince1970))
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO token_secrets (hash, token_id, created_at) VALUES (\(hash), \(record.id), \(record.createdAt.timeIntervalSince1970))
                    """, logger: logger)
            }
        }
        return issued
    }

    public func listTokens() async throws -> [TokenRecord] {
        try await call { client in
            try await Self.tokens(
                client.query(
                    """
                    SELECT id, name, time_zone, status, prefix, created_at, table_style FROM tokens ORDER BY created_at, id
                    """))
        }
    }

    public func token(id: String) async throws -> TokenRecord? {
        let id = id.lowercased().postgresSafe
        return try await call { client in
            try await Self.firstToken(
                client.query(
                    """
                    SELECT id, name, time_zone, status, prefix, created_at, table_style FROM tokens WHERE id = \(id)
                    """))
        }
    }

    public func setTokenStatus(id: String, _ status: TokenStatus) async throws -> TokenRecord {
        let id = id.lowercased().postgresSafe
        let record = try await call { client in
            try await Self.firstToken(
                client.query(
                    """
                    UPDATE tokens SET status = \(status.rawValue) WHERE id = \(id)
                    RETURNING id, name, time_zone, status, prefix, created_at, table_style
                    """))
        }
        guard let record else { throw StoreError(.notFound, "no token with id \(id)") }
        tokenCache.removeAll()
        return record
    }

    public func rotateToken(id: String, grace: Duration) async throws -> IssuedToken {
        let id = id.lowercased().postgresSafe
        let token = TokenSecrets.makeToken()
        let hash = TokenSecrets.hash(token)
        let prefix = TokenSecrets.prefix(token)
        let instant = now().timeIntervalSince1970
        let graceEnd = instant + Double(grace.components.seconds)
        let logger = logger
        let record = try await call { client in
            try await client.withTransaction(logger: logger) { connection -> TokenRecord? in
                // Locks the token row, so two rotations of one token run one after the other.
                guard
                    try await Self.firstToken(
                        connection.query(
                            "SELECT id, name, time_zone, status, prefix, created_at, table_style FROM tokens WHERE id = \(id) FOR UPDATE",
                            logger: logger)) != nil
                else { return nil }
                try await connection.query(
                    """
                    UPDATE token_secrets SET expires_at = \(graceEnd)
                    WHERE token_id = \(id) AND (expires_at IS NULL OR expires_at > \(graceEnd))
                    """, logger: logger)
                try await connection.query(
                    "INSERT INTO token_secrets (hash, token_id, created_at) VALUES (\(hash), \(id), \(instant))", logger: logger)
                return try await Self.firstToken(
                    connection.query(
                        """
                        UPDATE tokens SET prefix = \(prefix) WHERE id = \(id)
                        RETURNING id, name, time_zone, status, prefix, created_at, table_style
                        """, logger: logger))
            }
        }
        guard let record else { throw StoreError(.notFound, "no token with id \(id)") }
        tokenCache.removeAll()
        return IssuedToken(record: record, token: token)
    }

    public func event(id: String) async throws -> StoredEvent? {
        let id = id.lowercased().postgresSafe
        return try await call { client in
            for try await row in try await client.query(
                """
                SELECT \(unescaped: Self.eventColumns), NULL::bytea FROM events WHERE id = \(id)
                """)
            {
                return try Self.event(from: row)
            }
            return nil
        }
    }

    public func rawBody(eventID: String) async throws -> Data? {
        let id = eventID.lowercased().postgresSafe
        return try await call { client in
            for try await body in try await client.query("SELECT body FROM events WHERE id = \(id)").decode(Data.self) {
                return body
            }
            return nil
        }
    }

    public func rejections(tokenID: String, environment: DeploymentEnvironment?, limit: Int) async throws -> [Rejection] {
        let tokenID = tokenID.lowercased().postgresSafe
        let env = environment?.rawValue
        return try await call { client in
            var rejections: [Rejection] = []
            let rows = try await client.query(
                """
                SELECT token_id, env, at, status, reason, body, request_id, count FROM rejections
                WHERE token_id = \(tokenID) AND (\(env)::text IS NULL OR env = \(env) OR env IS NULL) ORDER BY id DESC LIMIT \(limit)
                """)
            for try await (token, env, at, status, reason, body, requestID, count)
                in rows.decode((String, String?, Double, Int, String, Data?, String?, Int).self)
            {
                rejections.append(
                    Rejection(
                        tokenID: token, environment: env.flatMap(DeploymentEnvironment.init(rawValue:)),
                        at: Date(timeIntervalSince1970: at), status: status, reason: reason, bodyPrefix: body,
                        requestID: requestID, count: count))
            }
            return rejections
        }
    }

    public func writeBacklog() -> (count: Int, oldestAge: Duration?) { writer.backlog }

    public var nodeCount: Int { nodes.liveNodes }

    public var appendGeneration: UInt64 { appends.generation }

    public func waitForAppends(after generation: UInt64, timeout: Duration) async {
        await appends.wait(after: generation, timeout: timeout)
    }

    public func checkHealth() async throws {
        try await call { client in _ = try await client.query("SELECT 1").collect() }
        if writer.lastCommitFailed {
            // Probe with a real write, so storage reads healthy again once it recovers, even with no traffic.
            do {
                try await call { client in
                    _ = try await client.query("UPDATE projection_cursor SET last_position = last_position").collect()
                }
            } catch {
                throw StoreError(.unavailable, "the last commit failed and writes still fail")
            }
            writer.markHealthy()
        }
    }

    // MARK: Rows

    static func tokens(_ rows: PostgresRowSequence) async throws -> [TokenRecord] {
        var tokens: [TokenRecord] = []
        for try await (id, name, zone, status, prefix, createdAt, style)
            in rows.decode((String, String, String, String, String, Double, String?).self)
        {
            tokens.append(
                TokenRecord(
                    id: id, name: name, timeZone: zone, status: TokenStatus(rawValue: status) ?? .inactive,
                    prefix: prefix, createdAt: Date(timeIntervalSince1970: createdAt), tableStyle: style))
        }
        return tokens
    }

    static func firstToken(_ rows: PostgresRowSequence) async throws -> TokenRecord? {
        try await tokens(rows).first
    }

    /// The columns `event(from:)` reads, but the last: a query adds `body` or `NULL::bytea`.
    static let eventColumns = """
        position, id, token_id, env, received_at, event_type, is_test, order_id, order_id_is_number, table_number, occurred_at,
        request_id, content_type, content_encoding, warnings, length(body)
        """

    /// An event from `eventColumns` and a body (or NULL).
    static func event(from row: PostgresRow) throws -> StoredEvent {
        let (
            position, id, tokenID, env, receivedAt, eventType, isTest, orderID, orderIDIsNumber, tableNumber, occurredAt,
            requestID, contentType, contentEncoding, warningsText, bodySize, body
        ) = try row.decode(
            (
                Int64, String, String, String, Double, String, Bool, String?, Bool, String?, Double?, String?, String?, String?,
                String, Int, Data?
            ).self)
        let warnings = (try? JSONDecoder().decode([ValidationWarning].self, from: Data(warningsText.utf8))) ?? []
        return StoredEvent(
            id: id, position: String(position), tokenID: tokenID, environment: DeploymentEnvironment(rawValue: env) ?? .prod,
            receivedAt: Date(timeIntervalSince1970: receivedAt), eventType: eventType, orderID: orderID,
            orderIDIsNumber: orderIDIsNumber, tableNumber: tableNumber,
            occurredAt: occurredAt.map(Date.init(timeIntervalSince1970:)), isTest: isTest, requestID: requestID,
            contentType: contentType, contentEncoding: contentEncoding, bodySize: bodySize, warnings: warnings, body: body)
    }
}
