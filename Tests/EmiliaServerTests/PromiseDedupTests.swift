import EmiliaStore
import Foundation
import GRDB
import Testing

@testable import EmiliaSQLite

/// Promises (contract §1 idempotency; decisions "Dedup keys are namespaced by kind (`key:`, `rid:`, `sha256:`) …
/// A repeat answers the warnings stored with the original event"): the key is Idempotency-Key, else X-Request-ID,
/// else the body's SHA-256, and the three kinds never collide.
@Suite("Promise: dedup details")
struct PromiseDedupTests {
    private func count(_ server: TestServer) async throws -> Int? {
        try await DatabaseQueue(path: server.dataDirectory.appendingPathComponent(SQLiteEventStore.fileName).path)
            .read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") }
    }

    /// An Idempotency-Key (or X-Request-ID) spelled like a body's SHA-256 hex is not that body's unkeyed post, and an
    /// Idempotency-Key equal to an X-Request-ID is not that request. Catches the `key:`/`rid:`/`sha256:` prefixes
    /// being dropped from the Ingestor's dedup key.
    @Test(.timeLimit(.minutes(2)))
    func keysOfDifferentKindsNeverCollide() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let body = Data(#"{"event":"test","promise":"namespaced"}"#.utf8)
            // `printf %s '{"event":"test","promise":"namespaced"}' | sha256sum`
            let hex = "4c2ae3fabc3156ea1c778254ae2bdcf7b479d450f3297561bfb742c3b5b144c9"
            try #require(TokenSecrets.hexDigest(body) == hex)
            let keyed = try await server.post(token: token, body: body, headers: [("Idempotency-Key", hex)]).json()
            let requested = try await server.post(token: token, body: body, headers: [("X-Request-ID", hex)]).json()
            let unkeyed = try await server.post(token: token, body: body).json()
            #expect(keyed["duplicate"] as? Bool == false)
            #expect(requested["duplicate"] as? Bool == false)
            #expect(unkeyed["duplicate"] as? Bool == false)
            let ids = [keyed, requested, unkeyed].compactMap { $0["event_id"] as? String }
            #expect(Set(ids).count == 3, "keys of different kinds collided: \(ids)")

            let other = Data(#"{"event":"test","promise":"kinds"}"#.utf8)
            let byKey = try await server.post(token: token, body: other, headers: [("Idempotency-Key", "same-text-77")]).json()
            let byRequest = try await server.post(token: token, body: other, headers: [("X-Request-ID", "same-text-77")]).json()
            #expect(byRequest["duplicate"] as? Bool == false)
            #expect(byRequest["event_id"] as? String != byKey["event_id"] as? String)
            #expect(try await count(server) == 5)
        }
    }

    /// A repeat answers duplicate:true with the ORIGINAL's warnings, not the repeat body's. Catches the writer
    /// answering the new body's warnings (or none) for a duplicate.
    @Test(.timeLimit(.minutes(2)))
    func aRepeatAnswersTheOriginalsWarnings() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let flagged = Data(#"{"event":"session_opened","order_id":"W-1","timestamp":"2025-11-24T19:00:00-03:00"}"#.utf8)
            let clean = Data(
                #"{"event":"session_opened","order_id":"W-1","table_number":"Mesa 4","timestamp":"2025-11-24T19:00:00-03:00"}"#.utf8)
            // The clean body alone has no warnings (under another key).
            let alone = try await server.post(token: token, body: clean, headers: [("Idempotency-Key", "control")])
            #expect(try alone.warningCodes().isEmpty, "\(alone.text)")

            let original = try await server.post(token: token, body: flagged, headers: [("Idempotency-Key", "order-W-1")])
            let originalCodes = try original.warningCodes()
            try #require(originalCodes.contains("missing_table_number"), "\(original.text)")
            let repeated = try await server.post(token: token, body: clean, headers: [("Idempotency-Key", "order-W-1")])
            #expect(try repeated.json()["duplicate"] as? Bool == true)
            #expect(try repeated.json()["event_id"] as? String == original.json()["event_id"] as? String)
            #expect(try repeated.warningCodes() == originalCodes, "a repeat answered \(repeated.text)")
        }
    }

    /// Idempotency-Key is the key when both headers come: same key + different request ids is a repeat; same
    /// request id + different keys is not. Catches X-Request-ID taking precedence.
    @Test(.timeLimit(.minutes(2)))
    func theIdempotencyKeyWinsOverTheRequestID() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            func post(_ n: Int, key: String, request: String) async throws -> [String: Any] {
                try await server.post(
                    token: token, body: Data(#"{"event":"test","n":\#(n)}"#.utf8),
                    headers: [("Idempotency-Key", key), ("X-Request-ID", request)]
                ).json()
            }
            let first = try await post(1, key: "ik-1", request: "rid-1")
            let sameKey = try await post(2, key: "ik-1", request: "rid-2")
            #expect(sameKey["duplicate"] as? Bool == true)
            #expect(sameKey["event_id"] as? String == first["event_id"] as? String)
            let sameRequest = try await post(3, key: "ik-2", request: "rid-1")
            #expect(sameRequest["duplicate"] as? Bool == false)
            #expect(sameRequest["event_id"] as? String != first["event_id"] as? String)
            #expect(try await count(server) == 2)
        }
    }
}
