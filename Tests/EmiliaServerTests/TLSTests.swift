import AsyncHTTPClient
import EmiliaClient
import EmiliaServer
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Testing

/// A self-signed certificate for 127.0.0.1, made with openssl for one test.
struct SelfSignedCertificate {
    let directory: URL
    var certificate: String { directory.appendingPathComponent("cert.pem").path }
    var key: String { directory.appendingPathComponent("key.pem").path }

    static func make() async throws -> SelfSignedCertificate {
        let made = SelfSignedCertificate(directory: TemporaryDirectory.make())
        let openssl = try ChildProcess(
            executable: URL(fileURLWithPath: "/usr/bin/openssl"),
            arguments: [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-keyout", made.key, "-out", made.certificate, "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            outputFile: made.directory.appendingPathComponent("openssl.log"))
        try await waitUntil(timeout: .seconds(30)) { !openssl.process.isRunning }
        guard openssl.process.terminationStatus == 0 else { throw TestFailure("openssl failed: \(openssl.standardOutput)") }
        return made
    }

    /// An HTTP client that trusts this certificate and does not follow redirects.
    func client() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(certificate)]
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

@Suite("HTTPS from the binary", .timeLimit(.minutes(2)))
struct TLSTests {
    /// A test server serving HTTPS with a new self-signed certificate.
    static func withHTTPSServer(_ body: (TestServer, SelfSignedCertificate) async throws -> Void) async throws {
        let certificate = try await SelfSignedCertificate.make()
        defer { try? FileManager.default.removeItem(at: certificate.directory) }
        try await TestServer.with(configure: {
            $0.tlsCertificatePath = certificate.certificate
            $0.tlsKeyPath = certificate.key
        }) { server in try await body(server, certificate) }
    }

    @Test func servesHTTPSWithHSTSAndSecureCookies() async throws {
        try await Self.withHTTPSServer { server, certificate in
            #expect(server.baseURL.hasPrefix("https://"))
            let client = try certificate.client()
            defer { _ = client.shutdown() }
            let health = try await client.execute(HTTPClientRequest(url: server.baseURL + "/health"), timeout: .seconds(10))
            #expect(health.status == .ok)
            #expect(health.headers["Strict-Transport-Security"].first == "max-age=31536000")

            var signIn = HTTPClientRequest(url: server.baseURL + "/login")
            signIn.method = .POST
            signIn.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            signIn.body = .bytes(ByteBuffer(string: "admin_key=\(TestServer.adminKey)"))
            let signedIn = try await client.execute(signIn, timeout: .seconds(10))
            #expect(signedIn.status == .seeOther)
            let cookie = try #require(signedIn.headers["Set-Cookie"].first)
            #expect(cookie.hasSuffix("; Secure") && cookie.contains("HttpOnly"))

            // Without the certificate trusted, or over plain HTTP, nothing gets through.
            await #expect(throws: (any Error).self) {
                _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: server.baseURL + "/health"), timeout: .seconds(3))
            }
            let plain = server.baseURL.replacingOccurrences(of: "https://", with: "http://")
            await #expect(throws: (any Error).self) {
                let answer = try await HTTPClient.shared.execute(HTTPClientRequest(url: plain + "/health"), timeout: .seconds(3))
                _ = try await answer.body.collect(upTo: 1 << 20)
            }
        }
    }

    @Test func theClientAndTheCLITrustACAFile() async throws {
        try await Self.withHTTPSServer { server, certificate in
            let client = try certificate.client()
            defer { _ = client.shutdown() }
            var create = HTTPClientRequest(url: server.baseURL + "/api/v1/tokens")
            create.method = .POST
            create.headers.add(name: "Authorization", value: "Bearer \(TestServer.adminKey)")
            create.body = .bytes(ByteBuffer(string: #"{"name":"Over HTTPS"}"#))
            let created = try await client.execute(create, timeout: .seconds(10)).body.collect(upTo: 1 << 20)
            let token = try #require((try JSONSerialization.jsonObject(with: Data(buffer: created)) as? [String: Any])?["token"] as? String)
            let baseURL = server.baseURL

            let receipt = try await HTTPClient.withWebhookHTTPClient(trustingCAFile: certificate.certificate) { http in
                try await WebhookClient(token: token, baseURL: baseURL, http: http).send(json: try Fixture.data("session_opened.json"))
            }
            #expect(!receipt.eventID.isEmpty)

            let payload = Fixture.directory.appendingPathComponent("session_complete.json").path
            let (sent, output) = try await EmiliaProcess.run([
                "send", payload, "--url", baseURL, "--token", token,
                "--ca-file", certificate.certificate,
            ])
            #expect(sent == 0, "\(output)")
            #expect(output.contains("received: event_id="))
            let (refused, _) = try await EmiliaProcess.run(["send", payload, "--url", baseURL, "--token", token])
            #expect(refused != 0, "an untrusted self-signed certificate is refused")
            let (diagnosed, report) = try await EmiliaProcess.run([
                "diagnose", token, "--url", baseURL, "--ca-file", certificate.certificate,
                "--samples", "1",
            ])
            #expect(diagnosed == 0, "\(report)")
            let outbox = certificate.directory.appendingPathComponent("outbox.sqlite3").path
            let (simulated, summary) = try await EmiliaProcess.run([
                "simulate", "--url", baseURL, "--token", token, "--sessions", "2",
                "--outbox", outbox, "--json", "--ca-file", certificate.certificate,
            ])
            #expect(simulated == 0, "\(summary)")
            let counts = try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Int]
            #expect(counts?["dead"] == 0 && (counts?["delivered"] ?? 0) > 0, "\(summary)")
        }
    }

    @Test func halfATLSConfigurationOrAnUnreadableFileIsRefused() async throws {
        let certificate = try await SelfSignedCertificate.make()
        defer { try? FileManager.default.removeItem(at: certificate.directory) }
        var configuration = ServerConfiguration(adminKey: TestServer.adminKey)
        configuration.tlsCertificatePath = certificate.certificate
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration.tlsKeyPath = certificate.directory.appendingPathComponent("missing.pem").path
        let error = try #require(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error.description.contains("--tls-key"))
        configuration.tlsKeyPath = certificate.key
        try configuration.validate()
    }
}
