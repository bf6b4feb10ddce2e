import AsyncHTTPClient
import EmiliaServer
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle

/// A real Emilia server on a free loopback port with a fresh data directory, for one test.
struct TestServer: Sendable {
    static let adminKey = "test-admin-key-0123456789abcdef"
    /// An HTTP client that does not follow redirects, so tests see the 303s themselves.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        // Tests post hundreds at once: enough connections that none waits out the pool on a loaded machine.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.timeout = .init(connect: .seconds(30), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    let baseURL: String
    let dataDirectory: URL
    /// Starts a graceful shutdown now (as SIGTERM would), while the test goes on.
    var shutDown: @Sendable () async -> Void = {}

    /// Runs `body` against a server built by `buildApplication` (on a fresh SQLite data dir, or a fresh PostgreSQL
    /// database), then shuts it down gracefully.
    static func with<T: Sendable>(
        backend: Backend = .sqlite,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        logger: Logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
        dataDirectory: URL? = nil,
        _ body: (TestServer) async throws -> T
    ) async throws -> T {
        let directory = dataDirectory ?? TemporaryDirectory.make()
        // A directory made here goes with the server, also when the test fails.
        defer { if dataDirectory == nil { try? FileManager.default.removeItem(at: directory) } }
        var configuration = ServerConfiguration(adminKey: adminKey)
        configuration.port = 0
        configuration.dataDirectory = directory
        if backend == .postgres { configuration.databaseURL = try await TestDatabase.createPostgresDatabase() }
        configure(&configuration)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = try await buildApplication(configuration: configuration, logger: logger) { port in
            portContinuation.yield(port)
        }
        let group = ServiceGroup(services: [app], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                // A server that stops before it listens ends the wait for its port at once (with its error).
                defer { portContinuation.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await tasks.waitForAll()
                throw TestFailure("the server stopped before it listened")
            }
            let scheme = configuration.tlsCertificatePath == nil ? "http" : "https"
            let server = TestServer(
                baseURL: "\(scheme)://127.0.0.1:\(port)", dataDirectory: directory,
                shutDown: { await group.triggerGracefulShutdown() })
            let result: T
            do {
                result = try await body(server)
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum TemporaryDirectory {
    static func make() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("emilia-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// One HTTP answer, read whole.
struct HTTPAnswer: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(text)")
        }
        return object
    }

    /// The `code`s of the answer's `warnings`, which must be there (an empty list when clean).
    func warningCodes() throws -> [String] {
        guard let warnings = try json()["warnings"] as? [[String: Any]] else { throw TestFailure("no warnings array in \(text)") }
        return warnings.compactMap { $0["code"] as? String }
    }
}

extension TestServer {
    /// Sends a request and reads the whole answer.
    func request(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, headers: [(String, String)] = [],
        admin: Bool = false
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if admin { request.headers.add(name: "Authorization", value: "Bearer \(Self.adminKey)") }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await Self.client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 32 * 1024 * 1024)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
    }

    /// Posts a webhook with a JSON content type.
    func post(token: String, env: String? = "dev", body: Data, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        let query = env.map { "?env=\($0)" } ?? ""
        return try await request(
            .POST, "/webhooks/v1/pos/\(token)\(query)", body: body,
            headers: [("Content-Type", "application/json")] + headers)
    }

    /// Creates a token through the admin API and returns (id, token).
    func createToken(name: String = "Cantina Test", timezone: String = "America/Sao_Paulo") async throws -> (id: String, token: String) {
        let answer = try await request(
            .POST, "/api/v1/tokens", body: Data(#"{"name":"\#(name)","timezone":"\#(timezone)"}"#.utf8),
            headers: [("Content-Type", "application/json")], admin: true)
        guard answer.status == 201 else { throw TestFailure("token creation answered \(answer.status): \(answer.text)") }
        let json = try answer.json()
        return (json["id"] as! String, json["token"] as! String)
    }
}

/// Waits for a condition with a deadline, polling; never a fixed sleep.
func waitUntil(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("condition not met within \(timeout)")
}

enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func data(_ name: String) throws -> Data { try Data(contentsOf: directory.appendingPathComponent(name)) }
}
