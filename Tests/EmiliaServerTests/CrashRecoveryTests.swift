import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing

@Suite("A real emilia serve process")
struct CrashRecoveryTests {
    static let adminKey = "crash-test-admin-key-0123456789"

    @Test func everyEventAnswered200SurvivesSIGKILL() async throws {
        let directory = TemporaryDirectory.make()
        let (status, created) = try await EmiliaProcess.run(["token", "create", "--name", "Crash Bistro", "--json", "--data-dir", directory.path])
        #expect(status == 0)
        let token = try #require((try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])?["token"] as? String)

        let environment = ["EMILIA_ADMIN_KEY": Self.adminKey, "EMILIA_RATE_LIMIT": "100000", "EMILIA_RATE_BURST": "100000"]
        let server = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: environment)
        let baseURL = try await server.waitForListening()

        let acknowledged = LogLines()
        let killed = LogLines()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in 0..<400 {
                        var request = HTTPClientRequest(url: "\(baseURL)/webhooks/v1/pos/\(token)?env=prod")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"event":"test","worker":\#(worker),"i":\#(index)}"#))
                        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) else { return }
                        guard response.status == .ok,
                              let body = try? await response.body.collect(upTo: 65536),
                              let json = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                              let id = json["event_id"] as? String
                        else { continue }
                        acknowledged.append(id)
                    }
                }
            }
            group.addTask {
                try await waitUntil(timeout: .seconds(60)) { acknowledged.all.count >= 300 }
                server.kill()
                killed.append("killed")
            }
            try await group.waitForAll()
        }
        #expect(killed.all == ["killed"])
        let ids = acknowledged.all
        #expect(ids.count >= 300)
        #expect(ids.count < 3200, "the server was killed before the burst ended")

        let restarted = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: environment)
        defer { restarted.kill() }
        let newURL = try await restarted.waitForListening()
        for id in ids {
            var request = HTTPClientRequest(url: "\(newURL)/api/v1/events/\(id)")
            request.headers.add(name: "Authorization", value: "Bearer \(Self.adminKey)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok, "event \(id) was answered 200 but is gone after the crash")
        }
    }

    @Test func cliTokenCommandsWorkWhileTheServerRuns() async throws {
        let directory = TemporaryDirectory.make()
        let server = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: ["EMILIA_ADMIN_KEY": Self.adminKey])
        defer { server.kill() }
        let baseURL = try await server.waitForListening()
        let (_, created) = try await EmiliaProcess.run(["token", "create", "--name", "Live", "--timezone", "Europe/Lisbon", "--json", "--data-dir", directory.path])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])
        let token = try #require(json["token"] as? String)
        let id = try #require(json["id"] as? String)

        func post() async throws -> Int {
            var request = HTTPClientRequest(url: "\(baseURL)/webhooks/v1/pos/\(token)?env=dev")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"event":"test","n":"\#(UUID())"}"#))
            return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code)
        }
        #expect(try await post() == 200)
        let (deactivateStatus, _) = try await EmiliaProcess.run(["token", "deactivate", id, "--data-dir", directory.path])
        #expect(deactivateStatus == 0)
        try await waitUntil(timeout: .seconds(5)) { try await post() == 401 }
        let (_, listed) = try await EmiliaProcess.run(["token", "list", "--json", "--data-dir", directory.path])
        #expect(listed.contains("\"status\":\"inactive\""))
        #expect(!listed.contains(token))
        let (unknownStatus, _) = try await EmiliaProcess.run(["token", "reactivate", UUID().uuidString, "--data-dir", directory.path])
        #expect(unknownStatus != 0)
    }

    @Test func sigtermDrainsInFlightRequestsAndExitsCleanly() async throws {
        let directory = TemporaryDirectory.make()
        let (_, created) = try await EmiliaProcess.run(["token", "create", "--name", "Term", "--json", "--data-dir", directory.path])
        let token = try #require((try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])?["token"] as? String)
        let environment = ["EMILIA_ADMIN_KEY": Self.adminKey, "EMILIA_RATE_LIMIT": "100000", "EMILIA_RATE_BURST": "100000"]
        let server = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: environment)
        let baseURL = try await server.waitForListening()
        let acknowledged = LogLines()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for index in 0..<2000 {
                        var request = HTTPClientRequest(url: "\(baseURL)/webhooks/v1/pos/\(token)?env=prod")
                        request.method = .POST
                        request.body = .bytes(ByteBuffer(string: #"{"event":"test","w":\#(worker),"i":\#(index)}"#))
                        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) else { return }
                        guard response.status == .ok, let body = try? await response.body.collect(upTo: 65536),
                              let id = (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["event_id"] as? String
                        else { continue }
                        acknowledged.append(id)
                    }
                }
            }
            group.addTask {
                try await waitUntil(timeout: .seconds(60)) { acknowledged.all.count >= 100 }
                kill(server.process.processIdentifier, SIGTERM)
            }
            try await group.waitForAll()
        }
        try await waitUntil(timeout: .seconds(30)) { !server.process.isRunning }
        #expect(server.process.terminationStatus == 0)
        let restarted = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: environment)
        defer { restarted.kill() }
        let newURL = try await restarted.waitForListening()
        for id in acknowledged.all {
            var request = HTTPClientRequest(url: "\(newURL)/api/v1/events/\(id)")
            request.headers.add(name: "Authorization", value: "Bearer \(Self.adminKey)")
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status == .ok)
        }
    }
}
