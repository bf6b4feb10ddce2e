import EmiliaModel
import EmiliaStore
import Foundation
import Testing

/// Ingest reads each event's session facts from the document it parsed, and the writer hands them to the session
/// folder, which then skips a second parse. The sessions folded that way must be the ones a rebuild from the stored
/// bodies gives.
@Suite struct FoldHandoffTests {
    /// An event without a timestamp happens when the store received it: the facts read at ingest carry a stand-in
    /// time (here years before), which the folder must replace by the stored receipt time. Naive times are read in
    /// the token's zone on both paths.
    @Test(arguments: Backend.allCases)
    func foldedSessionsEqualARebuildFromTheStoredBodies(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let token = try await store.createToken(name: "Boteco", timeZone: "America/Sao_Paulo").record
            let standIn = Date(timeIntervalSince1970: 1_000_000_000)  // 2001: long before any receipt in this test
            let bodies = [
                #"{"event":"session_opened","order_id":"H-1","table_number":"Mesa 2","guests":3}"#,
                #"{"event":"items_added","order_id":"H-1","timestamp":"2025-11-24T18:40:00","items":[{"name":"Pastel","price":12.5,"quantity":2}]}"#,
                #"{"event":"session_complete","order_id":"H-1","session_end":"2025-11-24T19:30:00","totals":{"total":25.0}}"#,
            ]
            let startedAt = Date()
            for body in bodies {
                let event = try incomingEvent(body, token: token, store: store, receivedAt: standIn)
                #expect(event.sessionFacts != nil)
                _ = try await store.append(event)
            }
            // A read waits a few seconds at most for the fold; a loaded test run can take longer.
            try await waitUntil {
                try await store.session(tokenID: token.id, environment: .prod, orderID: "H-1")?.eventIDs.count == bodies.count
            }
            let folded = try #require(try await store.session(tokenID: token.id, environment: .prod, orderID: "H-1"))
            // Opened when the store received the first event (the payload gave no time), not at the stand-in.
            let openedAt = try #require(folded.openedAt)
            #expect(openedAt >= startedAt.addingTimeInterval(-1))
            // 19:30 in São Paulo (UTC-3) is 22:30 UTC.
            #expect(folded.closedAt == Date(timeIntervalSince1970: 1_764_023_400))
            #expect(folded.status == .closed && folded.guests == 3 && folded.items.count == 1)

            #expect(try await store.rebuildSessions { _, _ in } == 1)
            let rebuilt = try #require(try await store.session(tokenID: token.id, environment: .prod, orderID: "H-1"))
            #expect(rebuilt == folded)
        }
    }

    /// The hand-over holds at most `capacity` events and `byteCapacity` body bytes: facts a folder never takes
    /// (another node folds them, the event was a duplicate) are dropped, oldest first, and so are the ids kept to
    /// order them.
    @Test func theHandOverIsBounded() throws {
        let handoff = FoldHandoff()
        let small = Self.sessionEvent(padding: 0)
        let total = FoldHandoff.capacity + 500
        handoff.handOver((0..<total).map { ("e\($0)", small) })
        #expect(handoff.waiting.events == FoldHandoff.capacity && handoff.waiting.ordered == FoldHandoff.capacity)
        let zones = TimeZoneCache()
        for index in total - 1_000..<total {
            #expect(handoff.facts(eventID: "e\(index)", receivedAt: Date(), body: small.body, timeZone: "UTC", zones: zones) != nil)
        }
        #expect(handoff.waiting.events == FoldHandoff.capacity - 1_000)
        // Ids of taken facts stop counting once they are older than twice the capacity.
        for round in 0..<100 {
            let ids = (0..<100).map { "f\(round)-\($0)" }
            handoff.handOver(ids.map { ($0, small) })
            for id in ids { _ = handoff.facts(eventID: id, receivedAt: Date(), body: small.body, timeZone: "UTC", zones: zones) }
        }
        #expect(handoff.waiting.ordered <= 2 * FoldHandoff.capacity)
        // Large bodies count by their size.
        let large = Self.sessionEvent(padding: FoldHandoff.largestBody - 200)
        handoff.handOver((0..<200).map { ("l\($0)", large) })
        #expect(handoff.waiting.bytes <= FoldHandoff.byteCapacity && handoff.waiting.bytes > FoldHandoff.byteCapacity / 2)
    }

    private static func sessionEvent(padding: Int) -> IncomingEvent {
        let body =
            #"{"event":"session_opened","order_id":"B-1","timestamp":"2025-11-24T18:30:00Z","note":""#
            + String(repeating: "x", count: padding) + #""}"#
        var event = IncomingEvent(
            tokenID: "t", environment: .prod, deduplicationKey: "k", body: Data(body.utf8),
            summary: EventSummary(kind: .sessionOpened, orderID: "B-1"), warnings: [], requestID: nil, contentType: nil)
        event.sessionFacts = SessionState.facts(eventID: "", receivedAt: Date(), body: event.body, timeZone: .gmt)
        return event
    }
}
