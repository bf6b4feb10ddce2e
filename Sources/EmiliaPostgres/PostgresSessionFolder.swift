import EmiliaModel
import EmiliaStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Folds committed session events into `sessions`, on whichever node holds the folder lock for the pass.
///
/// Every node runs one; each pass, a node that sees the log past `projection_cursor` tries the folder lock (a
/// session-level advisory lock): the one that gets it folds chunks until it has caught up, then lets go. A node that
/// dies mid-pass loses its connection and with it the lock; the cursor only moves in the transaction that writes the
/// sessions, so another node picks up where it stopped. Positions follow commit order, so a cursor never passes an
/// event committed later. An order whose rows cannot be written (bad data) is kept in `fold_failures` with the
/// reason; the others fold and the cursor moves on.
final class PostgresSessionFolder: Service, CustomStringConvertible {
    /// How often a node looks for unfolded events. Under steady writes a longer pause folds more of a check's events
    /// in one chunk (one read and one write of its session instead of several); a read wakes the folder and waits
    /// for the fold, so it never waits for this tick (measured: 1 s against 200 ms, +4 % ingest on one node).
    static let pollInterval: Duration = .seconds(1)
    /// How long a read waits for the fold before it answers from what is folded (a read wakes the folder, so it
    /// waits only for the fold itself; the limit is for a fold that fails or a machine that is swamped).
    static let readWaitLimit: Duration = .seconds(5)

    let chunkEvents: Int
    let chunkBytes: Int
    private let client: PostgresClient
    private let zones = TimeZoneCache()
    /// Session facts this node's writer read at ingest, so its own events need no second parse.
    private let handoff: FoldHandoff
    private let logger: Logger
    private let monitor: StoreMonitor
    /// Reads waiting for the fold start the next pass at once.
    private let wakeSignal = WakeSignal()

    var description: String { "PostgresSessionFolder" }

    init(
        client: PostgresClient, handoff: FoldHandoff, logger: Logger, monitor: StoreMonitor, chunkEvents: Int = 1024,
        chunkBytes: Int = 4 * 1024 * 1024
    ) {
        self.handoff = handoff
        self.client = client
        self.logger = logger
        self.monitor = monitor
        self.chunkEvents = chunkEvents
        self.chunkBytes = chunkBytes
    }

    /// The longest a pass may run: one that does not end in time (a connection gone silent) is abandoned, and the
    /// next pass starts from the cursor.
    static let passLimit: Duration = .seconds(60)

    func run() async throws {
        await repeatUntilShutdown(
            every: Self.pollInterval, backoff: FailureBackoff(initial: .milliseconds(100), maximum: .seconds(5)),
            service: "folder", monitor: monitor, logger: logger, wakeSignal: wakeSignal
        ) {
            try await PostgresFailure.withDeadline(Self.passLimit) { try await self.foldPass() }
        }
    }

    /// Returns once every event committed before the call is folded, or after `readWaitLimit` (a failing fold or an
    /// unreachable database must not hang reads). When the fold is behind, this node's folder starts a pass at once
    /// (it takes the folder lock unless another node's pass is already folding).
    func waitUntilFolded() async {
        _ = try? await PostgresFailure.withDeadline(Self.readWaitLimit) {
            let newest = try await self.newestPosition()
            guard try await self.cursorPosition() < newest else { return }
            self.wakeSignal.wake()
            // Polled from 5 ms, doubling to 50 ms: a fold that cannot move (a rebuild holds the lock, the folder
            // backs off after failures) costs a waiting read ~100 queries over the limit, not ~1,000.
            var pause = Duration.milliseconds(5)
            repeat {
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(50))
            } while try await self.cursorPosition() < newest
        }
    }

    private func newestPosition() async throws -> Int64 {
        for try await newest in try await client.query("SELECT COALESCE(max(position), 0) FROM events").decode(Int64.self) { return newest }
        return 0
    }

    private func cursorPosition() async throws -> Int64 {
        for try await cursor in try await client.query("SELECT last_position FROM projection_cursor").decode(Int64.self) { return cursor }
        return 0
    }

    /// One pass: when there is something to fold and the lock is free, fold until caught up.
    private func foldPass() async throws {
        guard try await cursorPosition() < newestPosition() else { return }
        try await client.withConnection { connection in
            let locked =
                try await connection.query("SELECT pg_try_advisory_lock(\(PostgresSchema.Lock.folder))", logger: logger)
                .decode(Bool.self).first { _ in true } ?? false
            guard locked else { return }
            // A failed chunk closes the connection, which also lets go of the lock.
            try await PostgresFailure.closingOnFailure(connection) {
                while !Task.isShuttingDownGracefully, try await foldChunk(connection) {}
                try await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.Lock.folder))", logger: logger)
            }
        }
    }

    /// Folds one chunk past the cursor; false when there was nothing left.
    private func foldChunk(_ connection: PostgresConnection) async throws -> Bool {
        let chunk = try await PostgresFoldChunk.read(
            connection, events: chunkEvents, bytes: chunkBytes, handoff: handoff, zones: zones, logger: logger)
        guard chunk.end > chunk.start else { return false }
        var orders: [SessionKey: [SessionFacts]] = [:]
        for row in chunk.rows { orders[row.key, default: []].append(row.facts) }
        let zones = zones
        let logger = logger
        let failures = try await connection.withTransaction(logger: logger) { connection -> Int in
            // Sessions are rebuilt from the log, and the cursor moves with them: this commit need not wait for its
            // WAL flush (a crash loses at most the last folds, never half of one; the next synced commit flushes it).
            try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
            // Fenced: when another node moved the cursor since this chunk was read, nothing here is written.
            let moved = try await connection.query(
                """
                UPDATE projection_cursor SET last_position = \(chunk.end) WHERE last_position = \(chunk.start) RETURNING 1
                """, logger: logger
            ).decode(Int.self).first { _ in true }
            guard moved != nil else { throw StoreError(.unavailable, "the fold cursor moved under this node") }
            // The whole chunk at once; only when its data fails, order by order, each in a savepoint of its own.
            do {
                try await connection.query("SAVEPOINT fold_chunk", logger: logger)
                try await PostgresSessions.addAll(orders, zones: zones, connection: connection, logger: logger)
                try await connection.query("RELEASE SAVEPOINT fold_chunk", logger: logger)
                return 0
            } catch let error where PostgresFailure.isDataError(error) {
                try await connection.query("ROLLBACK TO SAVEPOINT fold_chunk", logger: logger)
            }
            var failures = 0
            for (key, events) in orders.sorted(by: { $0.key.orderID < $1.key.orderID }) {
                do {
                    try await connection.query("SAVEPOINT fold_order", logger: logger)
                    try await PostgresSessions.add(
                        events, to: key, timeZone: zones.zone(named: key.timeZone), connection: connection, logger: logger)
                    try await connection.query("RELEASE SAVEPOINT fold_order", logger: logger)
                } catch let error where PostgresFailure.isDataError(error) {
                    try await connection.query("ROLLBACK TO SAVEPOINT fold_order", logger: logger)
                    try await PostgresSessions.recordFailure(
                        of: events.map { ($0.eventID, $0.occurredAt) }, key: key,
                        reason: "\(error)", connection: connection, logger: logger)
                    failures += events.count
                }
            }
            return failures
        }
        if failures > 0 {
            monitor.foldFailures(failures)
            logger.error("Events could not be folded into their session; kept with the reason", metadata: ["events": "\(failures)"])
        }
        return true
    }
}

/// A bounded run of the log past the cursor: the facts of its session events, and how far it reaches.
struct PostgresFoldChunk {
    struct Row {
        var key: SessionKey
        var facts: SessionFacts
    }

    var start: Int64 = 0
    var rows: [Row] = []
    /// The position the cursor moves to once these are folded.
    var end: Int64 = 0

    /// Reads up to `events` session events past the cursor. Their facts come from `handoff` when this node's writer
    /// handed them over; the others' bodies are read (about `bytes` of them at most, at least one) and parsed.
    static func read(
        _ connection: PostgresConnection, events: Int, bytes: Int, handoff: FoldHandoff, zones: TimeZoneCache, logger: Logger
    ) async throws -> PostgresFoldChunk {
        var chunk = PostgresFoldChunk()
        // The newest position first: everything up to it is committed (positions follow commit order), so the chunk
        // may end there even when it holds no session event.
        for try await (cursor, newest) in try await connection.query(
            """
            SELECT last_position, (SELECT COALESCE(max(position), 0) FROM events) FROM projection_cursor
            """, logger: logger
        ).decode((Int64, Int64).self) {
            chunk.start = cursor
            chunk.end = max(cursor, newest)
        }
        struct Listed {
            var position: Int64
            var eventID: String
            var receivedAt: Date
            var key: SessionKey
            var facts: SessionFacts?
        }
        var listed: [Listed] = []
        var bodyBytes = 0
        var isFull = false
        for try await (position, id, receivedAt, tokenID, env, orderID, zone, size) in try await connection.query(
            """
            SELECT e.position, e.id, e.received_at, e.token_id, e.env, e.order_id, t.time_zone, length(e.body) FROM events e
            JOIN tokens t ON t.id = e.token_id
            WHERE e.position > \(chunk.start) AND e.position <= \(chunk.end) AND NOT e.is_test AND e.order_id IS NOT NULL
            ORDER BY e.position LIMIT \(events)
            """, logger: logger
        ).decode((Int64, String, Double, String, String, String, String, Int).self) {
            guard !isFull else { continue }  // the rest of the answer is read, not used
            let receivedAt = Date(timeIntervalSince1970: receivedAt)
            let facts = handoff.take(eventID: id, receivedAt: receivedAt, timeZone: zone)
            if facts == nil {
                // A body to read: the chunk ends before the one that would take it past `bytes`.
                if bodyBytes >= bytes && !listed.isEmpty {
                    isFull = true
                    continue
                }
                bodyBytes += size
            }
            listed.append(
                Listed(
                    position: position, eventID: id, receivedAt: receivedAt,
                    key: SessionKey(tokenID: tokenID, environment: env, orderID: orderID, timeZone: zone), facts: facts))
        }
        // A full chunk ends at its last event; a short one covers the log up to the newest position.
        if let last = listed.last, isFull || listed.count >= events { chunk.end = last.position }
        let unread = listed.filter { $0.facts == nil }.map(\.position)
        var bodies: [Int64: Data] = [:]
        if !unread.isEmpty {
            for try await (position, body) in try await connection.query(
                "SELECT position, body FROM events WHERE position = ANY(\(unread))", logger: logger
            ).decode((Int64, Data).self) {
                bodies[position] = body
            }
        }
        for event in listed {
            let facts =
                event.facts
                ?? bodies[event.position].flatMap {
                    SessionState.facts(
                        eventID: event.eventID, receivedAt: event.receivedAt, body: $0, timeZone: zones.zone(named: event.key.timeZone))
                }
            if let facts { chunk.rows.append(Row(key: event.key, facts: facts)) }
        }
        return chunk
    }
}
