import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// Status counts and unexpected answers, shared by the posting workers.
final class MutationOutcomes: Sendable {
    let counts = Mutex<[Int: Int]>([:])
    let unexpected = Mutex<[String]>([])
}

/// A reproducible mutation of a fixture: flipped and dropped bytes, cut documents, and values swapped for
/// extremes (huge and tiny numbers, far dates, deep nesting, long strings, odd unicode).
struct Mutator {
    var state: UInt64

    mutating func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(max(bound, 1)))
    }

    static let extremes = [
        "922337203685477.58076", "-9223372036854775809", "1e308", "1e-400", "1e999999999", "-0", "0.00005",
        "\"9999-12-31T23:59:59+14:00\"", "\"0000-01-01T00:00:00Z\"", "\"2025-02-30T10:00:00-03:00\"", "null", "true",
        "[]", "{}", "\"\"", "\"\\u0000\"", "\"\\ud800\"", "\"Mesa \\u202e8\"", String(repeating: "[", count: 70),
        "\"" + String(repeating: "é", count: 5000) + "\"",
        "[" + Array(repeating: "{\"price\":1e20}", count: 300).joined(separator: ",") + "]",
    ]

    mutating func mutate(_ fixture: [UInt8]) -> [UInt8] {
        var bytes = fixture
        switch next(6) {
        case 0:  // flip a few bytes
            for _ in 0..<(1 + next(4)) where !bytes.isEmpty { bytes[next(bytes.count)] ^= UInt8(1 << next(8)) }
        case 1:  // cut the document
            bytes = Array(bytes.prefix(next(bytes.count + 1)))
        case 2:  // drop a run of bytes
            if bytes.count > 2 {
                let start = next(bytes.count - 1)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + next(20)))
            }
        default:  // swap a value after a colon for an extreme one
            let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") }
            guard let colon = colons.isEmpty ? nil : colons[next(colons.count)] else { break }
            var end = colon + 1
            var depth = 0
            while end < bytes.count {
                let byte = bytes[end]
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    if depth == 0 { break }
                    depth -= 1
                }
                if byte == UInt8(ascii: ","), depth == 0 { break }
                end += 1
            }
            bytes.replaceSubrange((colon + 1)..<end, with: Array(Self.extremes[next(Self.extremes.count)].utf8))
        }
        return bytes
    }
}

/// Thousands of mutated fixtures posted to a real `emilia serve`: only 2xx and 4xx answers, and it restarts cleanly.
@Suite("Mutated payloads over HTTP", .timeLimit(.minutes(3)))
struct MutatedPayloadTests {
    static let adminKey = "mutation-test-admin-key-012345"

    @Test(.timeLimit(.minutes(5)))
    func onlyTwoAndFourHundredsAndACleanRestart() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, token) = try await EmiliaProcess.createToken(named: "Mutants", in: directory)
        let environment = ["EMILIA_ADMIN_KEY": Self.adminKey, "EMILIA_RATE_LIMIT": "0"]
        let server = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: environment)
        defer { server.kill() }
        let baseURL = try await server.waitForListening()
        let fixtures = try FileManager.default.contentsOfDirectory(atPath: Fixture.directory.path)
            .filter { $0.hasSuffix(".json") || $0.hasSuffix(".txt") }.sorted()
            .map { Array(try Fixture.data($0)) }
        let outcomes = MutationOutcomes()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var mutator = Mutator(state: UInt64(worker + 1) * 7919)
                    for index in 0..<500 {
                        let body = mutator.mutate(fixtures[(index + worker) % fixtures.count])
                        var request = HTTPClientRequest(url: "\(baseURL)/webhooks/v1/pos/\(token)?env=dev")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(bytes: body))
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        let status = Int(response.status.code)
                        outcomes.counts.withLock { $0[status, default: 0] += 1 }
                        if !(200..<500).contains(status) {
                            outcomes.unexpected.withLock { $0.append("\(status): \(String(decoding: body.prefix(300), as: UTF8.self))") }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(outcomes.unexpected.withLock { $0 }.isEmpty, "\(outcomes.unexpected.withLock { $0.prefix(5) })")
        #expect(outcomes.counts.withLock { $0[200] ?? 0 } > 300, "\(outcomes.counts.withLock { $0 })")
        #expect(outcomes.counts.withLock { $0[400] ?? 0 } > 300, "\(outcomes.counts.withLock { $0 })")
        #expect(server.process.isRunning)
        // A graceful stop, then a start on the same data: everything folds, health is green.
        kill(server.process.processIdentifier, SIGTERM)
        try await waitUntil(timeout: .seconds(30)) { !server.process.isRunning }
        #expect(server.process.terminationStatus == 0)
        let restarted = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: environment)
        defer { restarted.kill() }
        let again = try await restarted.waitForListening()
        #expect(try await HTTPClient.shared.execute(HTTPClientRequest(url: again + "/health"), timeout: .seconds(10)).status == .ok)
    }
}
