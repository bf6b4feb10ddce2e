import EmiliaIngest
import EmiliaModel
import EmiliaPostgres
import EmiliaSQLite
import EmiliaStorage
import EmiliaStore
import Foundation
import Synchronization
import Testing

/// The event log's promises on both backends: paging, exports, the stream cursor in commit order, retention and
/// migrations.
@Suite("EventStore conformance: the log (SQLite and PostgreSQL)", .timeLimit(.minutes(3)))
struct StoreLogConformanceTests {
    @Test(arguments: Backend.allCases)
    func pagesCoverTheLogOnceInEitherOrder(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            var appended: [String] = []
            for index in 0..<25 {
                appended.append(
                    try await store.append(incomingEvent(#"{"event":"test","n":\#(index)}"#, token: token, store: store)).eventID)
            }
            for ascending in [false, true] {
                var seen: [String] = []
                var query = EventQuery(tokenID: token.id, environment: .prod, limit: 10, isOldestFirst: ascending, includesBodies: true)
                while true {
                    let page = try await store.events(query)
                    seen += page.events.map(\.id)
                    for event in page.events {
                        #expect(event.body == (try await store.rawBody(eventID: event.id)))
                    }
                    guard let next = page.nextCursor else { break }
                    #expect(page.events.count == 10)
                    query.cursor = next
                }
                #expect(seen == (ascending ? appended : appended.reversed()))
            }
            // An event id is a cursor too (SQLite's positions are ids; a log copied to PostgreSQL keeps them).
            let afterFifth = try await store.events(
                EventQuery(
                    tokenID: token.id, environment: .prod, limit: 3, cursor: appended[4],
                    isOldestFirst: true))
            #expect(afterFifth.events.map(\.id) == Array(appended[5..<8]))
            // Filters.
            _ = try await store.append(incomingEvent(SampleCheck.events(order: "F-1")[0], token: token, store: store))
            let opened = try await store.events(EventQuery(tokenID: token.id, environment: .prod, eventType: "session_opened"))
            #expect(opened.events.map(\.orderID) == ["F-1"])
            let byOrder = try await store.events(EventQuery(tokenID: token.id, environment: .prod, orderID: "F-1"))
            #expect(byOrder.events.count == 1 && byOrder.events[0].tableNumber == "Mesa 4")
        }
    }

    /// Every optional column comes back as it went in, present or absent, also when events with and without it share
    /// a commit (PostgreSQL sends a commit's rows as one array per column, NULLs included).
    @Test(arguments: Backend.allCases)
    func optionalColumnsComeBackPresentOrAbsent(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            // Ten of each at once: the writer takes what is queued, so most commits hold both kinds.
            var events: [(isFull: Bool, event: IncomingEvent)] = []
            for index in 0..<10 {
                var full = try incomingEvent(
                    SampleCheck.events(order: "O-\(index)")[0], token: token, store: store,
                    metadata: .init(contentType: "application/json", idempotencyKey: "full-\(index)", requestID: "req-\(index)"))
                full.contentEncoding = "gzip"  // as the ingestor marks a body it decompressed
                let bare = try incomingEvent(
                    #"{"event":"heartbeat"}"#, token: token, store: store,
                    metadata: .init(contentType: nil, idempotencyKey: "bare-\(index)"))
                events += [(true, full), (false, bare)]
            }
            let receipts = try await withThrowingTaskGroup(of: (Int, AppendReceipt).self) { group in
                for (index, entry) in events.enumerated() { group.addTask { (index, try await store.append(entry.event)) } }
                return try await group.reduce(into: [Int: AppendReceipt]()) { $0[$1.0] = $1.1 }
            }
            let stored = try await store.events(EventQuery(tokenID: token.id, environment: .prod, limit: 100)).events
            #expect(stored.count == 20)
            let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0) })
            for (index, entry) in events.enumerated() {
                let eventID = try #require(receipts[index]?.eventID)
                let event = try #require(byID[eventID])
                if entry.isFull {
                    let order = entry.event.summary.orderID
                    #expect(event.orderID == order && order != nil && event.tableNumber == "Mesa 4")
                    #expect(event.occurredAt == Date(timeIntervalSince1970: 1_764_009_000))
                    #expect(event.requestID == entry.event.requestID && event.requestID != nil)
                    #expect(event.contentType == "application/json" && event.contentEncoding == "gzip")
                } else {
                    #expect(event.orderID == nil && event.tableNumber == nil && event.occurredAt == nil)
                    #expect(event.requestID == nil && event.contentType == nil && event.contentEncoding == nil)
                    #expect(event.eventType == "heartbeat" && !event.isTest)
                }
            }
        }
    }

    /// The stream and exports resume from a position: while appends commit concurrently, reading on from the last
    /// position seen must end up with every event exactly once.
    @Test(arguments: Backend.allCases)
    func readingOnFromAPositionNeverSkipsAConcurrentCommit(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            let start = try await store.events(EventQuery(tokenID: token.id, environment: .prod, limit: 1)).events.first?.position
            let appended = Collected()
            let writers = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<8 {
                        group.addTask {
                            for index in 0..<40 {
                                let id = try await store.append(
                                    incomingEvent(#"{"event":"test","w":\#(writer),"i":\#(index)}"#, token: token, store: store)
                                ).eventID
                                appended.ids.withLock { _ = $0.insert(id) }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            var seen: [String] = []
            var cursor = start
            while true {
                // Read before the page: when every append had its answer, an empty page means the reader caught up.
                let allCommitted = appended.ids.withLock { $0.count } == 320
                let page = try await store.events(
                    EventQuery(tokenID: token.id, environment: .prod, limit: 50, cursor: cursor, isOldestFirst: true))
                seen += page.events.map(\.id)
                cursor = page.events.last?.position ?? cursor
                if page.events.isEmpty {
                    if allCommitted { break }
                    await Task.yield()
                }
            }
            try await writers.value
            #expect(seen.count == 320)
            #expect(Set(seen) == appended.ids.withLock { $0 })
        }
    }

    @Test(arguments: Backend.allCases)
    func retentionDeletesOldEventsAndKeepsSessions(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            for body in SampleCheck.events(order: "R-1") { _ = try await store.append(incomingEvent(body, token: token, store: store)) }
            // A read waits for the fold only so long (2 s on PostgreSQL): on a loaded machine, wait for all three.
            var before: [TableSession] = []
            try await waitUntil(timeout: .seconds(30)) {
                before = try await store.sessions(tokenID: token.id, environment: .prod, localDate: SampleCheck.day)
                return before.count == 1 && before[0].eventIDs.count == 3
            }
            #expect(try await store.deleteExpired(olderThan: Date().addingTimeInterval(-3600), batchSize: 2) == 0)
            // Everything received before the cutoff goes, in batches (SQLite keeps the newest event of the log).
            let deleted = try await store.deleteExpired(olderThan: Date().addingTimeInterval(3600), batchSize: 2)
            #expect(deleted >= 2)
            let left = try await store.events(EventQuery(tokenID: token.id, environment: .prod)).events.count
            #expect(left == 3 - deleted && left <= 1)
            #expect(try await store.sessions(tokenID: token.id, environment: .prod, localDate: SampleCheck.day) == before)
            #expect(try await store.deleteExpired(olderThan: Date().addingTimeInterval(3600), batchSize: 2) == 0)
        }
    }

    /// Nodes (or the CLI and a server) opening one new store at once: the migrations run once, all of them open it,
    /// and what one writes the others read.
    @Test(arguments: Backend.allCases)
    func storesOpenedTogetherMigrateOnceAndShareTheData(backend: Backend) async throws {
        let storage = try await TestDatabase.fresh(backend)
        defer { if case .sqlite(let directory) = storage { try? FileManager.default.removeItem(at: directory) } }
        let opened = try await withThrowingTaskGroup(of: OpenedStore.self) { group in
            for _ in 0..<3 { group.addTask { try await storage.open(logger: TestDatabase.logger) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let issued = try await opened[0].store.createToken(name: "Shared", timeZone: "UTC")
        for other in opened.dropFirst() {
            #expect(try await other.store.token(id: issued.record.id)?.name == "Shared")
        }
        if case .postgres = storage, let store = opened[0].store as? PostgresEventStore {
            #expect(
                try await store.appliedMigrations() == ["v1-log", "v2-nodes", "v3-lean-indexes", "v4-content-encoding", "v5-order-id-type"])
        }
        for store in opened { await store.close() }
        // Reopened later: nothing to migrate, the data is there.
        let tokens = try await storage.withStore(logger: TestDatabase.logger) { store in try await store.listTokens() }
        #expect(tokens.map(\.id) == [issued.record.id])
    }
}

/// Ids collected by concurrent tasks.
private final class Collected: Sendable {
    let ids = Mutex<Set<String>>([])
}
