import EmiliaModel
import EmiliaStorage
import EmiliaStore
import Foundation
import Testing

/// One contract, two backends: every case runs against SQLite and PostgreSQL through the `EventStore` protocol.
@Suite("EventStore conformance (SQLite and PostgreSQL)", .timeLimit(.minutes(3)))
struct StoreConformanceTests {
    @Test(arguments: Backend.allCases)
    func appendIsIdempotentOnTheDedupKey(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            let body = #"{"event":"test","order_id":"T-1"}"#
            let first = try await store.append(incomingEvent(body, token: token, store: store, key: "idem:a"))
            let again = try await store.append(incomingEvent(#"{"event":"test","other":1}"#, token: token, store: store, key: "idem:a"))
            #expect(!first.isDuplicate)
            #expect(again.isDuplicate)
            #expect(again.eventID == first.eventID)
            #expect(abs(again.receivedAt.timeIntervalSince(first.receivedAt)) < 0.001)
            #expect(again.warningsJSON == first.warningsJSON)
            // The same key in the other env is another event.
            let dev = try await store.append(incomingEvent(body, token: token, store: store, environment: .dev, key: "idem:a"))
            #expect(!dev.isDuplicate && dev.eventID != first.eventID)
            // Many copies at once: one stored, every answer names it.
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await store.append(incomingEvent(body, token: token, store: store, key: "idem:burst")).eventID }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let page = try await store.events(EventQuery(tokenID: token.id, environment: .prod, limit: 100))
            #expect(page.events.count == 2)
            let stored = try #require(try await store.event(id: first.eventID))
            #expect(stored.eventType == "test" && stored.orderID == "T-1" && stored.bodySize == body.utf8.count)
            #expect(try await store.rawBody(eventID: first.eventID) == Data(body.utf8))
        }
    }

    @Test(arguments: Backend.allCases)
    func tokensAreCreatedListedDeactivatedAndRotated(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let issued = try await store.createToken(name: "  Cantina  ", timeZone: "America/Sao_Paulo")
            #expect(issued.record.name == "Cantina" && issued.record.prefix == String(issued.token.prefix(8)))
            #expect(try await store.activeToken(matching: issued.token)?.id == issued.record.id)
            #expect(try await store.activeToken(matching: "not-a-token") == nil)
            #expect(try await store.listTokens().map(\.id) == [issued.record.id])
            #expect(try await store.token(id: issued.record.id.uppercased())?.name == "Cantina")
            await #expect(throws: StoreError.self) { try await store.createToken(name: "X", timeZone: "Mars/Olympus") }
            await #expect(throws: StoreError.self) { try await store.createToken(name: "   ", timeZone: "UTC") }
            await #expect(throws: StoreError.self) { try await store.setTokenStatus(id: UUID().uuidString, .inactive) }
            await #expect(throws: StoreError.self) { try await store.rotateToken(id: UUID().uuidString, grace: .seconds(60)) }

            #expect(try await store.setTokenStatus(id: issued.record.id, .inactive).status == .inactive)
            #expect(try await store.activeToken(matching: issued.token) == nil)
            #expect(try await store.setTokenStatus(id: issued.record.id, .active).status == .active)
            #expect(try await store.activeToken(matching: issued.token) != nil)

            // Rotation with a grace period: both values work; without one, only the new value.
            let rotated = try await store.rotateToken(id: issued.record.id, grace: .seconds(3600))
            #expect(rotated.token != issued.token && rotated.record.prefix == String(rotated.token.prefix(8)))
            #expect(try await store.activeToken(matching: issued.token) != nil)
            #expect(try await store.activeToken(matching: rotated.token) != nil)
            let again = try await store.rotateToken(id: issued.record.id, grace: .zero)
            #expect(try await store.activeToken(matching: rotated.token) == nil)
            #expect(try await store.activeToken(matching: issued.token) == nil)
            #expect(try await store.activeToken(matching: again.token)?.id == issued.record.id)
        }
    }

    @Test(arguments: Backend.allCases)
    func rejectionsAreKeptNewestFirstPerEnvironment(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            let now = Date()
            store.recordRejection(
                Rejection(
                    tokenID: token.id, environment: .prod, at: now, status: 400, reason: "invalid JSON",
                    bodyPrefix: Data("{".utf8), requestID: "r-1"))
            store.recordRejection(
                Rejection(
                    tokenID: token.id, environment: .dev, at: now, status: 413, reason: "too large",
                    bodyPrefix: nil, requestID: nil, count: 7))
            store.recordRejection(
                Rejection(
                    tokenID: token.id, environment: nil, at: now, status: 400, reason: "no env",
                    bodyPrefix: nil, requestID: nil))
            var all: [Rejection] = []
            try await waitUntil {
                all = try await store.rejections(tokenID: token.id, environment: nil, limit: 10)
                return all.count == 3
            }
            #expect(all.map(\.reason) == ["no env", "too large", "invalid JSON"])
            let prod = try await store.rejections(tokenID: token.id, environment: .prod, limit: 10)
            #expect(prod.map(\.reason) == ["no env", "invalid JSON"])
            #expect(prod.last?.bodyPrefix == Data("{".utf8) && prod.last?.requestID == "r-1")
            let quality = try await store.dataQuality(
                tokenID: token.id, environment: .dev, from: now.addingTimeInterval(-60),
                to: now.addingTimeInterval(60))
            #expect(quality.rejections == [413: 7, 400: 1])
        }
    }

    @Test(arguments: Backend.allCases)
    func eventsFoldIntoSessionsAndAnalyticsInputs(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            for order in ["A-1", "A-2"] {
                for body in SampleCheck.events(order: order) { _ = try await store.append(incomingEvent(body, token: token, store: store)) }
            }
            // A test event and a dev event: never in prod's sessions.
            _ = try await store.append(incomingEvent(#"{"event":"test","order_id":"A-3"}"#, token: token, store: store))
            _ = try await store.append(incomingEvent(SampleCheck.events(order: "D-1")[0], token: token, store: store, environment: .dev))
            let sessions = try await store.sessions(tokenID: token.id, environment: .prod, localDate: SampleCheck.day)
            #expect(sessions.map(\.orderID) == ["A-1", "A-2"])
            let session = try #require(try await store.session(tokenID: token.id, environment: .prod, orderID: "A-1"))
            #expect(session.status == .closed && session.tableNumber == "Mesa 4" && session.eventIDs.count == 3)
            #expect(session.totals?.total == Money("103.5"))
            #expect(try await store.session(tokenID: token.id, environment: .prod, orderID: "A-3") == nil)
            #expect(try await store.sessions(tokenID: token.id, environment: .dev, localDate: SampleCheck.day).count == 1)

            let quality = try await store.dataQuality(
                tokenID: token.id, environment: .prod, from: SampleCheck.dayStart,
                to: SampleCheck.dayStart.addingTimeInterval(86_400))
            #expect(quality.events == 6)
            let activities = try await store.activities(in: [
                token.id: SampleCheck.dayStart..<SampleCheck.dayStart.addingTimeInterval(86_400)
            ])
            #expect(activities[token.id]?.events == 6)
            #expect(activities[token.id]?.lastEventAt != nil)

            // A rebuild finds the same sessions.
            #expect(try await store.rebuildSessions { _, _ in } == 3)  // A-1, A-2 and the dev D-1; never the test event
            let rebuilt = try await store.sessions(tokenID: token.id, environment: .prod, localDate: SampleCheck.day)
            #expect(rebuilt == sessions)
        }
    }

    /// JSON allows `\u0000`; PostgreSQL's text does not. Such a payload is stored, folds, and leaves every read of
    /// its token working.
    @Test(arguments: Backend.allCases)
    func aNulInThePayloadBreaksNothing(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            let body =
                #"{"event":"session_opened\u0000x","order_id":"N\u0000UL","table_number":"Mesa\u00001","timestamp":"2025-11-24T18:30:00Z"}"#
            let receipt = try await store.append(incomingEvent(body, token: token, store: store))
            let opened = try await store.append(
                incomingEvent(
                    #"{"event":"session_opened","order_id":"N\u0000UL","table_number":"Mesa 1","timestamp":"2025-11-24T18:30:00Z"}"#,
                    token: token, store: store))
            #expect(!receipt.isDuplicate && !opened.isDuplicate)
            #expect(try await store.rawBody(eventID: receipt.eventID) == Data(body.utf8))
            let quality = try await store.dataQuality(
                tokenID: token.id, environment: .prod, from: SampleCheck.dayStart,
                to: SampleCheck.dayStart.addingTimeInterval(86_400))
            #expect(quality.events == 2 && quality.warnings["unknown_event"] == 1)
            #expect(try await store.sessions(tokenID: token.id, environment: .prod, localDate: SampleCheck.day).count == 1)
            #expect(try await store.events(EventQuery(tokenID: token.id, environment: .prod)).events.count == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func warningsAreCountedPerCode(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            let receipt = try await store.append(
                incomingEvent(
                    #"{"event":"session_opened","order_id":"W-1","timestamp":"2025-11-24T18:30:00Z"}"#, token: token, store: store))
            _ = try await store.append(incomingEvent(SampleCheck.events(order: "W-2")[0], token: token, store: store))
            let quality = try await store.dataQuality(
                tokenID: token.id, environment: .prod, from: SampleCheck.dayStart,
                to: SampleCheck.dayStart.addingTimeInterval(86_400))
            #expect(quality.events == 2 && quality.eventsWithWarnings == 1)
            #expect(quality.warnings["missing_table_number"] == 1)
            #expect(quality.examples["missing_table_number"] == receipt.eventID)
        }
    }
}
