import Foundation
import GRDB
import NIOHTTP1
import Testing

@Suite("emilia projection rebuild", .timeLimit(.minutes(3)))
struct ProjectionRebuildTests {
    @Test func rebuildingFromTheLogGivesTheSameSessions() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (id, before) = try await TestServer.with(dataDirectory: directory) { server in
            let (id, token) = try await server.createToken()
            for file in [
                "session_complete.json", "items_added.json", "session_opened.json", "session_complete_minimal.json", "table_alias.json",
            ] {
                _ = try await server.post(token: token, env: "prod", body: try Fixture.data(file))
            }
            return (id, try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&env=prod&date=2025-11-24", admin: true).text)
        }
        // Make the projection stale, as a change of rules would: every row says something else (another table, the
        // fold of a single made-up event). A rebuild that only filled missing rows would leave them so.
        try await DatabaseQueue(path: directory.appendingPathComponent("emilia.sqlite3").path).write { db in
            let stale = Data(#"{"o":"STALE","c":false,"t":{"p":0,"t":0,"e":"x","v":"Mesa 99"},"ids":["x"]}"#.utf8)
            try db.execute(sql: "UPDATE sessions SET table_number = 'Mesa 99', status = 'open', state = ?", arguments: [stale])
            #expect(db.changesCount == 3)
        }
        let (status, output) = try await EmiliaProcess.run(["projection", "rebuild", "--data-dir", directory.path])
        #expect(status == 0)
        #expect(output.contains("Rebuilt 3 sessions."))
        #expect(output.contains("100%"))
        let after = try await TestServer.with(dataDirectory: directory) { server in
            try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&env=prod&date=2025-11-24", admin: true).text
        }
        #expect(after == before)
        #expect(before.contains("ORD-2025-0124"))
    }
}
