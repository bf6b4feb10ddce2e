import EmiliaServer
import Foundation
import NIOHTTP1
import Testing

/// Promises (contract §3 "never defaults to an empty or well-known key"; README): with no EMILIA_ADMIN_KEY a key is
/// generated, printed once, kept in `<data-dir>/admin.key` with mode 0600 and reused after a restart; an explicit
/// key under 16 characters is refused.
@Suite("Promise: admin key")
struct PromiseAdminKeyTests {
    /// AdminKey.resolve: generated for nil and for "" (never an empty key), stored 0600, then read back unchanged.
    /// Catches a fixed or empty default, a file readable by others, and a new key on every start.
    @Test(.timeLimit(.minutes(2)), arguments: [nil, ""] as [String?])
    func aMissingKeyIsGeneratedKeptPrivateAndReused(explicit: String?) throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try AdminKey.resolve(explicit: explicit, dataDirectory: directory)
        #expect(first.isGenerated)
        #expect(first.key.range(of: #"^emk_[0-9a-f]{64}$"#, options: .regularExpression) != nil, "weak key: \(first.key)")
        let file = directory.appendingPathComponent("admin.key")
        #expect(first.file?.standardizedFileURL == file.standardizedFileURL)
        #expect(try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == first.key)
        #expect(try Self.permissions(of: file) == 0o600)
        let again = try AdminKey.resolve(explicit: explicit, dataDirectory: directory)
        #expect(again.key == first.key)
        #expect(!again.isGenerated)
        // Another data directory gets another key.
        let elsewhere = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        #expect(try AdminKey.resolve(explicit: explicit, dataDirectory: elsewhere).key != first.key)
    }

    /// The 16-character floor, at its edge: 15 refused, 16 taken as is (and nothing written to disk).
    /// Catches the check being dropped, loosened or off by one.
    @Test(.timeLimit(.minutes(2)))
    func anExplicitKeyNeedsSixteenCharacters() throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: AdminKeyError.self) { try AdminKey.resolve(explicit: "abcdefghijklmno", dataDirectory: directory) }
        let sixteen = try AdminKey.resolve(explicit: "abcdefghijklmnop", dataDirectory: directory)
        #expect(sixteen.key == "abcdefghijklmnop" && !sixteen.isGenerated && sixteen.file == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("admin.key").path))
    }

    /// `emilia serve` with no key: prints the generated key exactly once, keeps it 0600, the admin API takes it
    /// (and not a well-known key); a restart prints no key and the same key still works. Catches ServeCommand not
    /// using AdminKey, printing the key on every start or into logs, and generating a new one on restart.
    @Test(.timeLimit(.minutes(3)))
    func serveGeneratesPrintsOnceAndReusesTheKey() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        // An empty EMILIA_ADMIN_KEY counts as none (and overrides one the test runner might have).
        let environment = ["EMILIA_DATA_DIR": directory.path, "EMILIA_PORT": "0", "EMILIA_ADMIN_KEY": ""]
        let file = directory.appendingPathComponent("admin.key")

        let first = try EmiliaProcess(["serve"], environment: environment)
        defer { stopIfRunning(first) }
        let firstServer = TestServer(baseURL: try await first.waitForListening(), dataDirectory: directory)
        let output = first.standardOutput
        let range = try #require(output.range(of: #"emk_[0-9a-f]{64}"#, options: .regularExpression), "no key printed: \(output)")
        let key = String(output[range])
        #expect((output + first.standardError).components(separatedBy: key).count - 1 == 1, "the key was printed more than once")
        #expect(try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == key)
        #expect(try Self.permissions(of: file) == 0o600)
        #expect(try await Self.tokens(firstServer, key: key) == 200)
        #expect(try await Self.tokens(firstServer, key: TestServer.adminKey) == 401)
        stopIfRunning(first)

        let second = try EmiliaProcess(["serve"], environment: environment)
        defer { stopIfRunning(second) }
        let secondServer = TestServer(baseURL: try await second.waitForListening(), dataDirectory: directory)
        #expect(!second.standardOutput.contains(key) && !second.standardError.contains(key), "the key was printed again")
        #expect(try await Self.tokens(secondServer, key: key) == 200)
        #expect(try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == key)
    }

    /// `emilia serve` with a 15-character EMILIA_ADMIN_KEY stops with a non-zero status and says why, before
    /// listening. Catches serve falling back to a generated key or starting with the short one.
    @Test(.timeLimit(.minutes(2)))
    func serveRefusesAShortExplicitKey() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try EmiliaProcess(
            ["serve"],
            environment: [
                "EMILIA_DATA_DIR": directory.path, "EMILIA_PORT": "0", "EMILIA_ADMIN_KEY": "abcdefghijklmno",
            ])
        defer { stopIfRunning(child) }
        try await waitUntil(timeout: .seconds(60)) { !child.process.isRunning }
        #expect(child.process.terminationStatus != 0)
        // Let the pipes' last bytes arrive.
        try? await waitUntil(timeout: .seconds(5)) { (child.standardOutput + child.standardError).contains("16 characters") }
        let printed = child.standardOutput + child.standardError
        #expect(printed.contains("EMILIA_ADMIN_KEY") && printed.contains("16 characters"), "no reason given: \(printed)")
        #expect(!printed.contains("listening"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("admin.key").path))
    }

    static func permissions(of file: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        return try #require(attributes[.posixPermissions] as? NSNumber).intValue & 0o777
    }

    /// The status of `GET /api/v1/tokens` with `key` as the bearer.
    static func tokens(_ server: TestServer, key: String) async throws -> Int {
        try await server.request(.GET, "/api/v1/tokens", headers: [("Authorization", "Bearer \(key)")]).status
    }
}

/// SIGKILLs a child that still runs (never a pid already reaped, which the system may have given to another process).
func stopIfRunning(_ child: ChildProcess) {
    if child.process.isRunning { child.kill() }
}
