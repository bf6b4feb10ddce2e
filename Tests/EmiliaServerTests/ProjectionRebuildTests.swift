import Foundation
import GRDB
import Testing

@Suite("emilia projection rebuild")
struct ProjectionRebuildTests {
    @Test func rebuildingFromTheLogGivesTheSameSessions() async throws {
        let directory = TemporaryDirectory.make()
        let (id, before) = try await TestServer.with(dataDirectory: directory) { server in
            let (id, token) = try await server.createToken()
            for file in ["session_complete.json", "items_added.json", "session_opened.json", "session_complete_minimal.json", "table_alias.json"] {
                _ = try await server.post(token: token, env: "prod", body: try Fixture.data(file))
            }
            return (id, try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&env=prod&date=2025-11-24", admin: true).text)
        }
        // Lose the projection, as a change of rules would make it stale, then rebuild it from the events.
        try await DatabaseQueue(path: directory.appendingPathComponent("emilia.sqlite3").path).write { db in
            try db.execute(sql: "DELETE FROM sessions")
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
