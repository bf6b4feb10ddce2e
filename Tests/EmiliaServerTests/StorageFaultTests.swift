import AsyncHTTPClient
import EmiliaModel
import EmiliaSQLite
import EmiliaStore
import Foundation
import GRDB
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// A full disk, a held lock, too many large bodies: answered with 503s, survived, recovered from without a restart.
@Suite("Storage faults", .serialized, .timeLimit(.minutes(3)))
struct StorageFaultTests {
    static let adminKey = "fault-test-admin-key-0123456789"

    @Test(.timeLimit(.minutes(4)))
    func aFullDiskGets503sAndTheServerRecoversWhenSpaceIsBack() async throws {
        #expect(getuid() == 0, "mounting a small tmpfs needs root (CI runs as root)")
        let mount = TemporaryDirectory.make()
        try run("/bin/mount", ["-t", "tmpfs", "-o", "size=40m", "tmpfs", mount.path])
        defer {
            try? run("/bin/umount", ["-l", mount.path])
            try? FileManager.default.removeItem(at: mount)
        }
        let directory = mount.appendingPathComponent("data")
        let (_, token) = try await EmiliaProcess.createToken(named: "Full", in: directory)
        // Its log goes to the same disk, as `emilia serve >> emilia.log` would.
        let environment = ["EMILIA_ADMIN_KEY": Self.adminKey, "EMILIA_MIN_FREE_DISK_MB": "2", "EMILIA_LOG_LEVEL": "debug"]
        let server = try EmiliaProcess(
            ["serve", "--port", "0", "--data-dir", directory.path], environment: environment,
            outputFile: mount.appendingPathComponent("emilia.log"))
        defer { server.kill() }
        let baseURL = try await server.waitForListening()
        var acknowledged: [String] = []
        let padding = String(repeating: "x", count: 200_000)
        func post(_ index: Int) async throws -> (Int, HTTPHeaders) {
            var request = HTTPClientRequest(url: "\(baseURL)/webhooks/v1/pos/\(token)?env=prod")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            // Session events: the folder meets the full disk too, and must catch up once space is back.
            request.body = .bytes(
                ByteBuffer(
                    string:
                        #"{"event":"session_opened","order_id":"F\#(index)","table_number":"Mesa 1","timestamp":"2025-11-24T19:00:00-03:00","pad":"\#(padding)"}"#
                ))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            if response.status == .ok,
                let id = (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["event_id"] as? String
            {
                acknowledged.append(id)
            }
            return (Int(response.status.code), response.headers)
        }
        for index in 0..<5 { #expect(try await post(index).0 == 200) }

        // Fill the disk.
        _ = try? run("/bin/dd", ["if=/dev/zero", "of=\(mount.appendingPathComponent("filler").path)", "bs=1M"])
        var sawRefusal = false
        for index in 5..<200 {
            let (status, headers) = try await post(index)
            #expect(status == 200 || status == 503)
            if status == 503 {
                #expect(headers["Retry-After"].first != nil)
                sawRefusal = true
                break
            }
        }
        #expect(sawRefusal, "a full disk must refuse writes")
        let sick = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/health"), timeout: .seconds(10))
        #expect(sick.status == .serviceUnavailable)
        #expect(server.process.isRunning, "the server died on a full disk")

        // Space comes back: health and ingest recover by themselves.
        try FileManager.default.removeItem(at: mount.appendingPathComponent("filler"))
        try await waitUntil(timeout: .seconds(20)) {
            try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/health"), timeout: .seconds(10)).status == .ok
        }
        #expect(try await post(1000).0 == 200)

        // Nothing acknowledged was lost.
        kill(server.process.processIdentifier, SIGTERM)
        try await waitUntil(timeout: .seconds(30)) { !server.process.isRunning }
        #expect(server.process.terminationStatus == 0)
        let stored = try await DatabaseQueue(path: directory.appendingPathComponent("emilia.sqlite3").path).read { db in
            try String.fetchSet(db, sql: "SELECT id FROM events")
        }
        #expect(Set(acknowledged).isSubset(of: stored))
        // Every acknowledged session event is in its session (the folder retried through the full disk).
        let folded = try await DatabaseQueue(path: directory.appendingPathComponent("emilia.sqlite3").path).read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM events e WHERE e.event_type = 'session_opened'
                      AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.order_id = e.order_id)
                    """)
        }
        #expect(folded == 0, "acknowledged session events without their session")
    }

    @Test(.timeLimit(.minutes(2)))
    func aClosedOutputNeverStopsTheServer() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, token) = try await EmiliaProcess.createToken(named: "Quiet", in: directory)
        let server = try EmiliaProcess(
            ["serve", "--port", "0", "--data-dir", directory.path],
            environment: ["EMILIA_ADMIN_KEY": Self.adminKey, "EMILIA_LOG_LEVEL": "debug"])
        defer { server.kill() }
        let baseURL = try await server.waitForListening()
        // Whoever read its output went away (`emilia serve | head`): every log line now meets a closed pipe.
        server.closeOutput()
        for index in 0..<20 {
            var request = HTTPClientRequest(url: "\(baseURL)/webhooks/v1/pos/\(token)?env=dev")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"event":"test","n":\#(index)}"#))
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status == .ok)
        }
        #expect(
            try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/nowhere"), timeout: .seconds(10)).status == .notFound)
        #expect(server.process.isRunning)
    }

    @Test(.timeLimit(.minutes(2)))
    func logLinesThatCannotBeWrittenAreCountedInTheMetrics() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Its logs go to a device where every write fails (ENOSPC), as on a full disk.
        let server = try EmiliaProcess(
            ["serve", "--port", "0", "--data-dir", directory.path],
            environment: ["EMILIA_ADMIN_KEY": Self.adminKey, "EMILIA_LOG_LEVEL": "debug"],
            outputFile: directory.appendingPathComponent("stdout"), errorFile: URL(fileURLWithPath: "/dev/full"))
        defer { server.kill() }
        let baseURL = try await server.waitForListening()
        for _ in 0..<5 {
            #expect(
                try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/nowhere"), timeout: .seconds(10)).status
                    == .notFound)
        }
        var request = HTTPClientRequest(url: baseURL + "/metrics")
        request.headers.add(name: "Authorization", value: "Bearer \(Self.adminKey)")
        let metrics = String(buffer: try await HTTPClient.shared.execute(request, timeout: .seconds(10)).body.collect(upTo: 1 << 20))
        let dropped = metrics.split(separator: "\n").first { $0.hasPrefix("emilia_log_lines_dropped_total ") }
        let count = dropped.flatMap { Double($0.split(separator: " ").last ?? "") }
        #expect((count ?? 0) >= 5, "\(dropped ?? "no such line")")
        #expect(server.process.isRunning)
    }

    @Test(.timeLimit(.minutes(3)))
    func manyLargeBodiesAtOnceMeetTheMemoryBudgetNotTheOOMKiller() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, token) = try await EmiliaProcess.createToken(named: "Big", in: directory)
        let server = try EmiliaProcess(
            ["serve", "--port", "0", "--data-dir", directory.path],
            environment: [
                "EMILIA_ADMIN_KEY": Self.adminKey, "EMILIA_INGEST_MEMORY_MB": "20", "EMILIA_RATE_BURST": "1000",
            ])
        defer { server.kill() }
        let baseURL = try await server.waitForListening()
        let body = ByteBuffer(string: #"{"event":"test","pad":""# + String(repeating: "x", count: 9 * 1024 * 1024) + #""}"#)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    var request = HTTPClientRequest(url: "\(baseURL)/webhooks/v1/pos/\(token)?env=dev")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(body)
                    return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(60)).status.code)
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(Set(statuses).isSubset(of: [200, 503]))
        #expect(statuses.contains(503), "16 bodies of 9 MiB cannot fit a 20 MiB budget at once")
        #expect(statuses.contains(200))
        let peak = try peakResidentMegabytes(of: server.process.processIdentifier)
        #expect(peak < 300, "peak RSS \(peak) MB")
        #expect(try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/health"), timeout: .seconds(10)).status == .ok)
    }

    @Test(.timeLimit(.minutes(2)))
    func aFailingRetentionPassIsRetriedAndNeverEndsTheServer() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let errors = Mutex(0)
        let monitor = StoreMonitor(serviceError: { service in if service == "retention" { errors.withLock { $0 += 1 } } })
        let store = try SQLiteEventStore(directory: directory, logger: Logger(label: "test"), busyTimeout: .milliseconds(50))
        let token = try await store.createToken(name: "Old", timeZone: "UTC").record.id
        // An event past retention, written by a store whose clock is 100 days back.
        let old = try SQLiteEventStore(
            directory: directory, logger: Logger(label: "test"), now: { Date().addingTimeInterval(-100 * 86_400) })
        let oldGroup = ServiceGroup(services: old.services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await oldGroup.run() }
            // Two: retention always keeps the newest event of the log.
            for key in ["old", "newest"] {
                _ = try await old.append(
                    IncomingEvent(
                        tokenID: token, environment: .prod, deduplicationKey: key, body: Data(#"{"event":"test"}"#.utf8),
                        summary: EventSummary(kind: .test("test")), warnings: [], requestID: nil, contentType: nil))
            }
            await oldGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // Another process holds the write lock: every pass fails until it lets go.
        var blockerConfiguration = Configuration()
        blockerConfiguration.allowsUnsafeTransactions = true
        let blocker = try DatabaseQueue(path: directory.appendingPathComponent("emilia.sqlite3").path, configuration: blockerConfiguration)
        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let retention = RetentionService(
            store: store, age: .seconds(90 * 86_400), interval: .milliseconds(50), logger: Logger(label: "test"),
            monitor: monitor)
        let group = ServiceGroup(services: [retention], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await waitUntil { errors.withLock { $0 } >= 2 }
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            try await waitUntil {
                try await blocker.read { db in try String.fetchAll(db, sql: "SELECT dedup_key FROM events") } == ["newest"]
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("\(executable) \(arguments) exited \(process.terminationStatus)") }
    }

    /// The most memory the process ever had resident (`VmHWM`), in MB.
    private func peakResidentMegabytes(of pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init) ?? "")
        else {
            throw TestFailure("no VmHWM in /proc/\(pid)/status")
        }
        return kilobytes / 1024
    }
}
