import CZlib
import Foundation
import NIOHTTP1
import Testing

/// HTTP as POS stacks speak it: `Expect: 100-continue` and gzip-compressed bodies (docs/contract.md §1).
@Suite("HTTP as clients speak it", .timeLimit(.minutes(3)))
struct HTTPProtocolTests {
    static func port(of server: TestServer) -> Int { Int(server.baseURL.split(separator: ":").last!)! }

    static func head(path: String, length: Int, extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n"
            + "Expect: 100-continue\r\n\(extra)\r\n"
    }

    @Test func expectContinueGetsA100ThenTheBodyIsStored() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let body = try Fixture.data("session_complete.json")
            let connection = try RawConnection(port: Self.port(of: server))
            try connection.send(Self.head(path: "/webhooks/v1/pos/\(token)?env=dev", length: body.count))
            // The 100 comes before any byte of the body is sent: the client never waits out its timer.
            let interim = try await connection.read(until: "\r\n\r\n")
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"))
            try connection.send(body)
            let answer = try await connection.read(until: "\"warnings\"")
            #expect(answer.contains("HTTP/1.1 200 OK"))
            #expect(answer.components(separatedBy: "100 Continue").count == 2, "one 100, not two")
        }
    }

    @Test(arguments: [
        ("/webhooks/v1/pos/emilia_unknown_token_0123456789abcdef?env=dev", "401", 100),
        ("/webhooks/v1/pos/TOKEN?env=staging", "400", 100),
        ("/webhooks/v1/pos/TOKEN?env=dev", "413", 11 * 1024 * 1024),
    ])
    func refusalsComeAtOnceWithoutTheBody(path: String, status: String, length: Int) async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let connection = try RawConnection(port: Self.port(of: server))
            try connection.send(Self.head(path: path.replacingOccurrences(of: "TOKEN", with: token), length: length))
            let answer = try await connection.read(until: "\"detail\"")
            #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "\(answer)")
            #expect(!answer.contains("100 Continue"))
            #expect(answer.lowercased().contains("connection: close"))
            // The unsent body can no longer be told from a next request: the server closes.
            #expect(try await connection.waitForClose())
        }
    }

    /// A client that writes its whole body before it reads (no `Expect`, `Connection: close`, as Python's urllib)
    /// still gets its refusal, not a full socket until its own timeout. Catches the server no longer reading a closing
    /// connection whose request it answered before the body arrived (ExpectContinueHandler's drain).
    @Test(arguments: [("TOKEN", "413"), ("00000000-0000-4000-8000-000000000000", "401")])
    func aClientThatSendsItsWholeBodyFirstStillGetsItsRefusal(token: String, status: String) async throws {
        try await TestServer.with { server in
            let (_, created) = try await server.createToken()
            // More than the socket buffers hold on any host (the drop reads up to 64 MiB).
            let length = 48 * 1024 * 1024
            let connection = try RawConnection(port: Self.port(of: server))
            try connection.send(
                "POST /webhooks/v1/pos/\(token == "TOKEN" ? created : token)?env=dev HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n")
            let sent = try await connection.send(Data(repeating: 0x20, count: length), within: .seconds(30))
            #expect(sent, "the server stopped reading the body it had answered")
            let answer = try await connection.read(until: "\"detail\"")
            #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "\(answer)")
        }
    }

    @Test func otherRoutesGetA100AtOnce() async throws {
        try await TestServer.with { server in
            let body = #"{"name":"Cantina"}"#
            let connection = try RawConnection(port: Self.port(of: server))
            try connection.send(
                Self.head(
                    path: "/api/v1/tokens", length: body.utf8.count,
                    extra: "Authorization: Bearer \(TestServer.adminKey)\r\n"))
            #expect(try await connection.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 100 Continue\r\n"))
            try connection.send(body)
            #expect(try await connection.read(until: "\"token\"").contains("HTTP/1.1 201 Created"))
        }
    }

    @Test func pipelinedRequestsGetTheir100AndTheirRefusalInTurn() async throws {
        try await TestServer.with { server in
            let connection = try RawConnection(port: Self.port(of: server))
            let body = #"{"name":"Cantina"}"#
            // Three requests in one write: the 100 of the second waits for the first answer; the third's refusal
            // closes the connection, and only its answer says so.
            try connection.send(
                "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    + Self.head(path: "/api/v1/tokens", length: body.utf8.count, extra: "Authorization: Bearer \(TestServer.adminKey)\r\n"))
            let first = try await connection.read(until: "100 Continue\r\n\r\n")
            let health = try #require(first.range(of: "\"version\""))
            #expect(first.range(of: "HTTP/1.1 100 Continue")!.lowerBound > health.lowerBound, "the 100 came inside the first answer")
            #expect(!first.lowercased().contains("connection: close"))
            try connection.send(body + Self.head(path: "/webhooks/v1/pos/emilia_unknown_token_0123456789abcdef", length: 10))
            let all = try await connection.read(until: "Invalid or inactive webhook token")
            let created = try #require(all.range(of: "HTTP/1.1 201 Created"))
            let refused = try #require(all.range(of: "HTTP/1.1 401 Unauthorized"))
            #expect(created.lowerBound < refused.lowerBound)
            #expect(!all[..<refused.lowerBound].lowercased().contains("connection: close"), "an earlier answer was told to close")
            #expect(all[refused.lowerBound...].lowercased().contains("connection: close"))
            #expect(try await connection.waitForClose())
        }
    }

    @Test(arguments: Backend.allCases) func gzipBodiesAreStoredDecompressedWithTheirEncoding(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (_, token) = try await server.createToken()
            let json = try Fixture.data("session_complete.json")
            let answer = try await server.post(token: token, body: try Gzip.compress(json), headers: [("Content-Encoding", "gzip")])
            #expect(answer.status == 200, "\(answer.text)")
            #expect(try answer.warningCodes().isEmpty)
            let id = try #require(try answer.json()["event_id"] as? String)
            let raw = try await server.request(.GET, "/api/v1/events/\(id)/raw", admin: true)
            #expect(raw.body == json, "the event's bytes are the decompressed JSON")
            let detail = try await server.request(.GET, "/api/v1/events/\(id)", admin: true).json()
            #expect(detail["content_encoding"] as? String == "gzip")
            #expect(detail["size_bytes"] as? Int == json.count)
        }
    }

    @Test func gzipRefusals() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            // 20 MiB of spaces in a JSON string: about 20 KB compressed, over the 10 MiB limit once decompressed.
            let bomb = try Gzip.compress(
                Data("{\"event\":\"connection_test\",\"pad\":\"".utf8) + Data(repeating: 0x20, count: 20 << 20) + Data("\"}".utf8))
            #expect(bomb.count < 100_000)
            let tooLarge = try await server.post(token: token, body: bomb, headers: [("Content-Encoding", "gzip")])
            #expect(tooLarge.status == 413)
            #expect((try tooLarge.json()["detail"] as? String)?.contains("decompressed") == true)

            let json = try Fixture.data("session_complete.json")
            let compressed = try Gzip.compress(json)
            for (name, body) in [
                ("not gzip", json), ("truncated", compressed.prefix(compressed.count - 6)),
                ("trailing bytes", compressed + Data("xx".utf8)),
            ] {
                let answer = try await server.post(token: token, body: Data(body), headers: [("Content-Encoding", "gzip")])
                #expect(answer.status == 400, "\(name)")
                #expect((try answer.json()["detail"] as? String)?.hasPrefix("Invalid gzip body: ") == true, "\(name): \(answer.text)")
            }

            let brotli = try await server.post(token: token, body: json, headers: [("Content-Encoding", "br")])
            #expect(brotli.status == 415)
            #expect((try brotli.json()["detail"] as? String)?.contains("'br'") == true)
            let identity = try await server.post(token: token, body: json, headers: [("Content-Encoding", "identity")])
            #expect(identity.status == 200)
        }
    }
}

/// gzip as a POS stack sends it (zlib's deflate with a gzip header and trailer).
enum Gzip {
    static func compress(_ data: Data) throws -> Data {
        var stream = z_stream()
        guard
            deflateInit2_(
                &stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { throw TestFailure("deflateInit2 failed") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))) + 64)
        let status = data.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = UInt32(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw TestFailure("deflate answered \(status)") }
        return Data(output.prefix(Int(stream.total_out)))
    }
}
