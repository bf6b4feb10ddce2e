@testable import EmiliaServer
import Foundation
import Testing

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
        _ = buildRouter(store: opened.store, configuration: configuration, metrics: metrics,
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
                        #expect((content["application/json"]?["schema"] as? [String: Any])?["$ref"] as? String == "#/components/schemas/Error",
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
}
