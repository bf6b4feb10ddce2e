import EmiliaStorage
import Foundation
import NIOHTTP1
import Testing

@testable import EmiliaServer

/// docs/openapi.json is what the server serves, and it documents every route the router has (dashboard pages aside).
@Suite("OpenAPI document", .timeLimit(.minutes(2)))
struct OpenAPITests {
    static let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/openapi.json")

    /// The dashboard's HTML pages and assets: for people, not in the document.
    static let dashboardRoutes: Set<String> = [
        "GET /", "GET /login", "POST /login", "POST /logout", "GET /restaurants/{token_id}", "GET /restaurants/{token_id}/rows",
        "GET /events/{id}", "GET /tokens", "POST /tokens", "POST /tokens/{id}/{action}",
        "GET /assets/emilia.css", "GET /assets/emilia.js", "GET /assets/favicon.svg", "GET /favicon.ico",
    ]

    @Test func theServedDocumentIsTheCommittedOne() async throws {
        try await TestServer.with { server in
            let served = try await server.request(.GET, "/openapi.json")
            #expect(served.status == 200)
            #expect(served.headers["Content-Type"].first == "application/json")
            let committed = try Data(contentsOf: Self.committed)
            #expect(served.body == committed, "docs/openapi.json is stale: run `swift run emilia openapi > docs/openapi.json`")
        }
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = ServerConfiguration(adminKey: TestServer.adminKey)
        configuration.dataDirectory = directory
        let opened = try await configuration.storage().open(logger: TestDatabase.logger)
        let metrics = ServerMetrics()
        let table = RouteTable()
        _ = buildRouter(
            store: opened.store, configuration: configuration, metrics: metrics,
            rejections: RejectionRecorder(store: opened.store, metrics: metrics, perMinute: 1, burst: 1, flushInterval: .seconds(1)),
            routes: table)
        await opened.close()

        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
        let registered = Set(table.all)
        #expect(registered.isSuperset(of: Self.dashboardRoutes), "the dashboard list is out of date")
        #expect(registered.subtracting(Self.dashboardRoutes).subtracting(documented).sorted() == [], "routes missing from the document")
        #expect(documented.subtracting(registered).sorted() == [], "documented operations no route serves")
        #expect(documented.count >= 25)
    }

    @Test func everyOperationHasAnIDAndEveryAnswerABodySchema() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        var operationIDs: [String] = []
        for (path, operations) in paths {
            for (method, operation) in operations {
                operationIDs.append(operation["operationId"] as? String ?? "")
                let responses = operation["responses"] as? [String: [String: Any]] ?? [:]
                #expect(!responses.isEmpty, "\(method) \(path)")
                for (status, response) in responses {
                    let content = response["content"] as? [String: [String: Any]] ?? [:]
                    #expect(!content.isEmpty && content.values.allSatisfy { $0["schema"] != nil }, "\(method) \(path) \(status)")
                    // /health's 503 is its own shape, `detail` included.
                    if let code = Int(status), code >= 400, path != "/health" {
                        #expect(
                            (content["application/json"]?["schema"] as? [String: Any])?["$ref"] as? String == "#/components/schemas/Error",
                            "\(method) \(path) \(status): every error is {\"detail\": …}")
                    }
                }
                let isAdmin = path.hasPrefix("/api/")
                #expect((operation["security"] as? [[String: Any]])?.isEmpty == !isAdmin, "\(method) \(path): the admin key")
                if isAdmin { #expect(responses["401"] != nil, "\(method) \(path)") }
            }
        }
        #expect(Set(operationIDs).count == operationIDs.count && !operationIDs.contains(""))
    }

    /// Real answers of a server with a day of data, each held against its schema (schemathesis, in CI, mostly reaches
    /// these operations with unknown ids, so it sees their errors rather than their data).
    @Test(arguments: Backend.allCases) func answersWithDataMatchTheirSchemas(backend: Backend) async throws {
        let check = try SchemaCheck()
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            var lastEvent = ""
            for file in ["session_opened.json", "items_added.json", "session_complete.json", "table_alias.json", "naive_timestamp.json"] {
                let answer = try await server.post(token: token, env: "prod", body: try Fixture.data(file))
                #expect(try check.problems(answer.body, against: "IngestAnswer") == [], "\(file)")
                lastEvent = try answer.json()["event_id"] as? String ?? ""
            }
            _ = try await server.post(token: token, env: "prod", body: Data("{not json".utf8))
            try await waitUntil {
                try await server.request(.GET, "/api/v1/sessions/ORD-2025-0124?token_id=\(id)&env=prod", admin: true).status == 200
            }
            let query = "token_id=\(id)&env=prod"
            let answers: [(String, String)] = [
                ("/api/v1/tokens", "TokenList"), ("/api/v1/tokens/\(id)", "Token"), ("/api/v1/events?\(query)", "EventList"),
                ("/api/v1/events/\(lastEvent)", "Event"), ("/api/v1/sessions?\(query)&date=2025-11-24", "SessionList"),
                ("/api/v1/sessions/ORD-2025-0124?\(query)", "Session"), ("/api/v1/analytics?\(query)&date=2025-11-24", "Analytics"),
                ("/api/v1/rejections?\(query)", "RejectionList"), ("/health", "Health"), ("/api/v1/tokens/nope", "Error"),
            ]
            for (path, schema) in answers {
                let answer = try await server.request(.GET, path, admin: true)
                #expect(try check.problems(answer.body, against: schema) == [], "GET \(path) (\(answer.status))")
            }
            let sessions = try await server.request(.GET, "/api/v1/sessions?\(query)&date=2025-11-24", admin: true).json()
            #expect((sessions["sessions"] as? [Any])?.isEmpty == false, "the day has sessions to check")
            // The checker itself finds a wrong answer.
            #expect(try check.problems(Data(#"{"event_id":1}"#.utf8), against: "Event").count > 3)
        }
    }
}
