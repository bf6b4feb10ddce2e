import AsyncAlgorithms
import AsyncHTTPClient
import EmiliaServer
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

@Suite("Ingest: every answer of docs/contract.md §1", .timeLimit(.minutes(3)))
struct IngestStatusTests {
    @Test(arguments: [
        ("session_opened.json", [String]()), ("items_added.json", []), ("session_complete.json", []),
        ("session_complete_minimal.json", []), ("missing_table_number.json", ["missing_table_number"]),
        ("naive_timestamp.json", ["naive_timestamp"]), ("utc_offset_in_sao_paulo.json", ["offset_mismatch"]),
        ("table_alias.json", ["table_alias"]), ("totals_mismatch.json", ["totals_mismatch"]),
        ("order_created_v1.json", ["table_alias"]), ("connection_test.json", []), ("not_an_object.json", ["not_an_object"]),
    ])
    func fixturesAreAcceptedWithTheirWarnings(file: String, expected: [String]) async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let answer = try await server.post(token: token, body: try Fixture.data(file))
            #expect(answer.status == 200)
            let json = try answer.json()
            #expect(json["status"] as? String == "received")
            #expect(json["env"] as? String == "dev")
            #expect(json["duplicate"] as? Bool == false)
            #expect(UUID(uuidString: json["event_id"] as? String ?? "") != nil)
            #expect((json["received_at"] as? String)?.hasSuffix("Z") == true)
            #expect(try answer.warningCodes() == expected)
        }
    }

    @Test(arguments: Backend.allCases) func unauthorizedTokensAllGetTheSameDetail(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            let body = try Fixture.data("session_opened.json")
            let detail = "Invalid or inactive webhook token"
            let unknown = try await server.post(token: UUID().uuidString, body: body)
            #expect(unknown.status == 401)
            #expect(try unknown.json()["detail"] as? String == detail)

            let truncated = try await server.post(token: String(token.prefix(13)), body: body)
            #expect(truncated.status == 401)
            #expect(try truncated.json()["detail"] as? String == detail)
            #expect(try truncated.json()["hint"] as? String == "the token must be the full 36-character UUID; got 13 characters")

            let malformed = try await server.post(token: "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", body: body)
            #expect(malformed.status == 401)
            #expect(try malformed.json()["detail"] as? String == detail)

            let missing = try await server.request(.POST, "/webhooks/v1/pos", body: body, headers: [("Authorization", "Bearer \(token)")])
            #expect(missing.status == 401)
            #expect((try missing.json()["hint"] as? String)?.contains("in the URL path") == true)
            let wrongPath = try await server.request(.POST, "/webhook", body: body, headers: [("Authorization", "Bearer \(token)")])
            #expect(wrongPath.status == 404)
            #expect((try wrongPath.json()["hint"] as? String)?.contains("in the URL path") == true)

            let upperCase = try await server.post(token: token.uppercased(), body: body)
            #expect(upperCase.status == 200)

            let deactivated = try await server.request(.POST, "/api/v1/tokens/\(id)/deactivate", admin: true)
            #expect(deactivated.status == 200)
            let inactive = try await server.post(token: token, body: body)
            #expect(inactive.status == 401)
            #expect(try inactive.json()["detail"] as? String == detail)
            _ = try await server.request(.POST, "/api/v1/tokens/\(id)/reactivate", admin: true)
            #expect(try await server.post(token: token, body: body).status == 200)
        }
    }

    @Test(arguments: Backend.allCases) func environmentIsCheckedAndKeptApart(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (_, token) = try await server.createToken()
            let body = try Fixture.data("session_opened.json")
            let staging = try await server.post(token: token, env: "staging", body: body)
            #expect(staging.status == 400)
            #expect(try staging.json()["detail"] as? String == "Unknown env 'staging': use 'dev' or 'prod'")
            let upper = try await server.post(token: token, env: "DEV", body: body)
            #expect(try upper.json()["env"] as? String == "dev")
            let absent = try await server.post(token: token, env: nil, body: body)
            #expect(try absent.json()["env"] as? String == "prod")
            // The same body in dev and in prod is two events: dedup is scoped per env.
            #expect(try absent.json()["duplicate"] as? Bool == false)
            #expect(try absent.json()["event_id"] as? String != upper.json()["event_id"] as? String)
        }
    }

    @Test(arguments: [
        (Data(), "Invalid JSON: empty body at byte 0"),
        (
            Data(#"{"event": "session_opened", "table_number": "Mesa 8", "order_id": "#.utf8),
            "Invalid JSON: unexpected end of input at byte 66"
        ),
        (Data([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]), "Invalid JSON: invalid UTF-8 at byte 6"),
    ])
    func invalidBodiesAreRefusedWithTheReason(body: Data, detail: String) async throws {
        try await TestServer.with { server in
            let (id, token) = try await server.createToken()
            let answer = try await server.post(token: token, body: body)
            #expect(answer.status == 400)
            #expect(try answer.json()["detail"] as? String == detail)
            // Rejections are written without waiting for their commit: read them once they are there.
            var list: [[String: Any]] = []
            try await waitUntil {
                list =
                    try await server.request(.GET, "/api/v1/rejections?token_id=\(id)", admin: true).json()["rejections"]
                    as? [[String: Any]] ?? []
                return !list.isEmpty
            }
            #expect(list.first?["status"] as? Int == 400)
            #expect(list.first?["reason"] as? String == detail)
        }
    }

    @Test(arguments: Backend.allCases) func tooLargeByContentLengthAndWhileStreaming(backend: Backend) async throws {
        try await TestServer.with(backend: backend, configure: { $0.maximumBodyBytes = 64 * 1024 }) { server in
            let (id, token) = try await server.createToken()
            let big = Data(repeating: 0x20, count: 64 * 1024 + 1)
            let declared = try await server.post(token: token, body: big)
            #expect(declared.status == 413)
            #expect(try declared.json()["detail"] as? String == "Payload too large. Max size: 64KB")

            // Chunked: no Content-Length, so the limit is enforced while reading.
            var request = HTTPClientRequest(url: "\(server.baseURL)/webhooks/v1/pos/\(token)?env=dev")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            let chunks = (0..<40).map { _ in ByteBuffer(repeating: 0x20, count: 4096) }
            request.body = .stream(chunks.async, length: .unknown)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 413)
            #expect(String(buffer: try await response.body.collect(upTo: 4096)).contains("Payload too large. Max size: 64KB"))

            try await waitUntil {
                let rejections = try await server.request(.GET, "/api/v1/rejections?token_id=\(id)", admin: true)
                let statuses = (try rejections.json()["rejections"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? Int }
                return statuses.filter { $0 == 413 }.count == 2
            }
        }
    }

    @Test(arguments: Backend.allCases) func rateLimitAnswers429WithRetryAfter(backend: Backend) async throws {
        // 0.01/s: no token comes back while the test runs, however loaded the machine.
        try await TestServer.with(
            backend: backend,
            configure: {
                $0.rateLimitPerSecond = 0.01
                $0.rateLimitBurst = 3
            }
        ) { server in
            let (id, token) = try await server.createToken()
            let body = try Fixture.data("connection_test.json")
            for index in 0..<3 {
                let answer = try await server.post(token: token, body: body, headers: [("Idempotency-Key", "k\(index)")])
                #expect(answer.status == 200)
            }
            let limited = try await server.post(token: token, env: "prod", body: body)
            #expect(limited.status == 429)
            #expect(try limited.json()["detail"] as? String == "Rate limit exceeded: 0.01 requests/s per token")
            let retryAfter = Int(limited.headers["Retry-After"].first ?? "") ?? 0
            #expect(retryAfter >= 90 && retryAfter <= 100)
            // Another token is not affected.
            let (_, other) = try await server.createToken(name: "Other")
            #expect(try await server.post(token: other, body: body).status == 200)
            try await waitUntil {
                let list =
                    try await server.request(.GET, "/api/v1/rejections?token_id=\(id)", admin: true).json()["rejections"]
                    as? [[String: Any]]
                return list?.first?["status"] as? Int == 429
            }
        }
    }

    @Test(arguments: Backend.allCases) func wrongMethodGets405WithAllow(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (_, token) = try await server.createToken()
            let answer = try await server.request(.GET, "/webhooks/v1/pos/\(token)")
            #expect(answer.status == 405)
            #expect(answer.headers["Allow"].first == "POST")
            #expect(try answer.json()["detail"] as? String != nil)
        }
    }

    @Test(arguments: Backend.allCases) func slowBodyGets408(backend: Backend) async throws {
        try await TestServer.with(backend: backend, configure: { $0.bodyTimeout = .milliseconds(300) }) { server in
            let (id, token) = try await server.createToken()
            let response = try await Self.postStalledBody(to: "\(server.baseURL)/webhooks/v1/pos/\(token)?env=dev")
            #expect(response.status == 408)
            #expect(response.text.contains("not received within"))
            try await waitUntil {
                let rejections = try await server.request(.GET, "/api/v1/rejections?token_id=\(id)", admin: true)
                return (try rejections.json()["rejections"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? Int } == [408]
            }

            // The same deadline guards every route that reads a body, with the same JSON answer.
            let admin = try await Self.postStalledBody(
                to: "\(server.baseURL)/api/v1/tokens", headers: [("Authorization", "Bearer \(TestServer.adminKey)")])
            #expect(admin.status == 408)
            #expect(try admin.json()["detail"] as? String == "Request body not received within 300 ms")

            // A body that arrives in time is unaffected by the timer of the request before it.
            #expect(try await server.post(token: token, body: Data(#"{"event":"test"}"#.utf8)).status == 200)
        }
    }

    /// Sends the first bytes of a 100-byte body, then nothing, and returns the server's answer.
    private static func postStalledBody(to url: String, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        continuation.yield(ByteBuffer(string: "{\"event\":"))
        request.body = .stream(stream, length: .known(Int64(100)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        continuation.finish()
        let body = try await response.body.collect(upTo: 4096)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    @Test(arguments: Backend.allCases) func requestIDIsEchoedOrGenerated(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (_, token) = try await server.createToken()
            let body = try Fixture.data("session_opened.json")
            let sent = try await server.post(token: token, body: body, headers: [("X-Request-ID", "pos-req-42")])
            #expect(sent.headers["X-Request-ID"].first == "pos-req-42")
            let generated = try await server.post(token: token, body: Data(#"{"event":"test"}"#.utf8))
            let generatedID = generated.headers["X-Request-ID"].first ?? ""
            #expect(UUID(uuidString: generatedID) != nil)
            #expect(generatedID == generatedID.lowercased() && Array(generatedID)[14] == "4" && "89ab".contains(Array(generatedID)[19]))
            let another = try await server.post(token: token, body: Data(#"{"event":"test"}"#.utf8))
            #expect(another.headers["X-Request-ID"].first != generatedID)
            let notFound = try await server.request(.GET, "/nowhere")
            #expect(notFound.status == 404)
            #expect(notFound.headers["X-Request-ID"].first != nil)
            #expect(try notFound.json()["detail"] != nil)
        }
    }

    @Test(arguments: Backend.allCases) func contentTypeIsAWarningNotARefusal(backend: Backend) async throws {
        let verdicts: [(contentType: String, warned: Bool)] = [
            ("text/plain", true), ("application/x-www-form-urlencoded", true), ("application/jsonp", true), ("application/+json", true),
            ("application/json", false), ("Application/JSON; charset=utf-8", false), ("  application/json  ;charset=UTF-8", false),
            ("application/vnd.pos+json", false),
        ]
        try await TestServer.with(backend: backend) { server in
            let (_, token) = try await server.createToken()
            for (contentType, warned) in verdicts {
                let answer = try await server.request(
                    .POST, "/webhooks/v1/pos/\(token)?env=dev", body: try Fixture.data("session_opened.json"),
                    headers: [("Content-Type", contentType), ("Idempotency-Key", contentType)])
                #expect(answer.status == 200)
                #expect(try answer.warningCodes() == (warned ? ["content_type"] : []), "Content-Type: \(contentType)")
            }
        }
    }

    /// With the production token cache (1 s): the naming learned from the first event applies to the very next one
    /// (the cache used to hide it for a second), and only to its own restaurant.
    @Test(arguments: Backend.allCases) func tableNamingIsLearnedPerRestaurant(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (_, token) = try await server.createToken()
            let (_, neighbour) = try await server.createToken(name: "Neighbour")
            _ = try await server.post(token: neighbour, body: Data(#"{"event":"test"}"#.utf8))  // cached before either learns
            _ = try await server.post(token: token, body: try Fixture.data("session_opened.json"))
            let other = #"{"event":"session_opened","order_id":"X9","table_number":"Table 12","timestamp":"2025-11-24T18:30:00-03:00"}"#
            let answer = try await server.post(token: token, body: Data(other.utf8))
            #expect(try answer.warningCodes() == ["table_name_inconsistent"])
            let first = try await server.post(token: neighbour, body: Data(other.utf8))
            #expect(try first.warningCodes() == [], "the neighbour learns its own naming from its own first table")
        }
    }
}
