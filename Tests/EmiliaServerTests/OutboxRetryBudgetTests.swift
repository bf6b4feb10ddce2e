import EmiliaClient
import EmiliaModel
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A clock that moves only when delivery sleeps on it: hours of backoff pass in no real time.
final class SimulatedClock: Sendable {
    let start: Date
    private let current: Mutex<Date>
    private let dice: Mutex<UInt64>

    init(start: Date = Date(timeIntervalSince1970: 1_764_000_000), seed: UInt64 = 7) {
        self.start = start
        current = Mutex(start)
        dice = Mutex(seed)
    }

    var now: Date { current.withLock { $0 } }
    /// Seconds since `start`.
    var elapsed: TimeInterval { now.timeIntervalSince(start) }

    func advance(_ duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// Sleeping advances this clock (and honours cancellation, so a time limit ends a runaway loop); the dice are
    /// seeded (SplitMix64), so a run is reproducible.
    var retryClock: RetryClock {
        RetryClock(
            sleep: { duration in
                try Task.checkCancellation()
                self.advance(duration)
            },
            random: {
                self.dice.withLock { state in
                    state &+= 0x9E37_79B9_7F4A_7C15
                    var z = state
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
                }
            })
    }
}

/// A scripted webhook endpoint whose answer depends on the simulated time and the message; records every attempt.
final class ClockedServer: Sendable {
    struct Hit: Sendable {
        var key: String
        var body: String
        /// Simulated seconds since the clock's start.
        var at: TimeInterval
        var status: Int
    }

    let clock: SimulatedClock
    private let answer: @Sendable (TimeInterval, String) -> ScriptedServer.Answer
    private let recorded = Mutex<[Hit]>([])

    /// `answer(elapsed, body)` decides each reply.
    init(clock: SimulatedClock, answer: @escaping @Sendable (TimeInterval, String) -> ScriptedServer.Answer) {
        self.clock = clock
        self.answer = answer
    }

    var hits: [Hit] { recorded.withLock { $0 } }

    func hits(of marker: String) -> [Hit] { hits.filter { $0.body.contains(marker) } }

    func run<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        try await ScriptedServer(answer: { attempt in
            let at = self.clock.elapsed
            let reply = self.answer(at, attempt.body)
            let status =
                switch reply {
                case .ok: 200
                case .status(let code, _): code
                case .hang: 0
                }
            self.recorded.withLock { $0.append(Hit(key: attempt.idempotencyKey ?? "", body: attempt.body, at: at, status: status)) }
            return reply
        }).run(body)
    }
}

private let hour: TimeInterval = 3600

/// Counts by name, shared with a server's script.
private final class Tally: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    var all: [String: Int] { counts.withLock { $0 } }
    func add(_ name: String) -> Int {
        counts.withLock {
            $0[name, default: 0] += 1
            return $0[name, default: 0]
        }
    }
}

private func event(_ order: String, _ step: Int) -> Data {
    Data(
        #"{"event":"items_added","order_id":"\#(order)","table_number":"Mesa 1","timestamp":"2025-11-24T19:00:0\#(step)-03:00","items":[],"marker":"\#(order)-\#(step)"}"#
            .utf8)
}

private func client(_ url: String) -> WebhookClient {
    WebhookClient(token: "3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41", baseURL: url)
}

@Suite("Outbox retry budget", .timeLimit(.minutes(2)))
struct OutboxRetryBudgetTests {
    @Test func anOutageOfHoursLosesNothingAndDeliversEachMessageOnce() async throws {
        let clock = SimulatedClock()
        // Down for five hours: 5xx for four, then a rate limit asking for 120 s (obeyed up to 60 s) for one.
        let server = ClockedServer(clock: clock) { at, _ in
            at < 4 * hour ? .status([503, 500, 502, 408][Int(at) % 4]) : at < 5 * hour ? .status(429, retryAfter: 120) : .ok
        }
        let outbox = try Outbox(path: TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3"))
        let orders = ["A", "B", "C"]
        for step in 0..<2 {
            for order in orders { try await outbox.enqueue(json: event(order, step), orderID: order, now: clock.now) }
        }
        let counts = try await server.run { url in
            let delivery = OutboxDelivery(
                outbox: outbox, client: client(url), clock: clock.retryClock, now: { clock.now }, logger: outboxLogger)
            #expect(delivery.rules.retryBudget == .seconds(72 * 3600), "the promise: 72 h by default")
            return try await delivery.drain()
        }
        #expect(counts == OutboxCounts(pending: 0, delivered: 6, dead: 0))
        #expect(clock.elapsed >= 5 * hour)
        for order in orders {
            for step in 0..<2 {
                let hits = server.hits(of: "\(order)-\(step)")
                #expect(Set(hits.map(\.key)).count == 1, "every attempt of a message carries its one idempotency key")
                #expect(hits.filter { $0.status == 200 }.count == 1, "\(order)-\(step) accepted exactly once")
                if step == 0 { #expect(hits.count > 100, "retried all through the outage, not 8 times") }
                for (previous, next) in zip(hits, hits.dropFirst()) {
                    #expect(next.at - previous.at <= 300.1, "backoff never over 5 min")
                    if previous.status == 429 {
                        #expect((59.999...61).contains(next.at - previous.at), "Retry-After obeyed, capped at 60 s")
                    }
                }
            }
            // In order per order: step 0 accepted before step 1 was first tried.
            let accepted = try #require(server.hits(of: "\(order)-0").first { $0.status == 200 })
            let later = try #require(server.hits(of: "\(order)-1").first)
            #expect(accepted.at <= later.at)
        }
        #expect(Set(server.hits.map(\.key)).count == 6)
    }

    @Test func aMessageIsParkedDeadOnlyOnceItsBudgetIsSpent() async throws {
        let clock = SimulatedClock()
        let server = ClockedServer(clock: clock) { _, _ in .status(503) }
        let outbox = try Outbox(path: TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3"))
        try await outbox.enqueue(json: event("A", 0), orderID: "A", now: clock.now)
        // Enqueued three hours later: its budget ends three hours later too.
        try await outbox.enqueue(json: event("B", 0), orderID: "B", now: clock.now.addingTimeInterval(3 * hour))
        let counts = try await server.run { url in
            try await OutboxDelivery(
                outbox: outbox, client: client(url), retryBudget: .seconds(6 * 3600),
                clock: clock.retryClock, now: { clock.now }, logger: outboxLogger
            ).drain()
        }
        #expect(counts == OutboxCounts(pending: 0, delivered: 0, dead: 2))
        let dead = try await outbox.deadMessages()
        for (message, created) in zip(dead, [0, 3 * hour]) {
            let hits = server.hits(of: message.orderKey == "order:A" ? "A-0" : "B-0")
            let last = try #require(hits.last)
            let beforeLast = try #require(hits.dropLast().last)
            #expect(beforeLast.at < created + 6 * hour, "still retried within the budget")
            #expect(last.at >= created + 6 * hour && last.at <= created + 6 * hour + 300.1, "parked at the first failure past the budget")
            #expect(message.attempts == hits.count && hits.count > 8)
            #expect(message.lastStatus == 503)
            #expect(message.lastError?.contains("scripted 503") == true)
            #expect(message.lastError?.contains("6 h retry budget") == true)
        }
    }

    @Test(arguments: [400, 401, 413, 422])
    func aPermanentRefusalIsParkedAtOnceWhileTransientFailuresWait(status: Int) async throws {
        let clock = SimulatedClock()
        let server = ClockedServer(clock: clock) { at, body in
            body.contains("R-0") ? .status(status) : at < hour ? .status(503) : .ok
        }
        let outbox = try Outbox(path: TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3"))
        try await outbox.enqueue(json: event("F", 0), orderID: "F", now: clock.now)
        try await outbox.enqueue(json: event("R", 0), orderID: "R", now: clock.now)
        let counts = try await server.run { url in
            try await OutboxDelivery(
                outbox: outbox, client: client(url), clock: clock.retryClock, now: { clock.now }, logger: outboxLogger
            ).drain()
        }
        #expect(counts == OutboxCounts(pending: 0, delivered: 1, dead: 1))
        let dead = try await #require(try outbox.deadMessages().first)
        #expect(dead.orderKey == "order:R")
        #expect(dead.attempts == 1 && dead.lastStatus == status)
        #expect(dead.lastError?.contains("scripted \(status)") == true)
        #expect(server.hits(of: "R-0").count == 1, "a refusal is not retried")
        #expect(server.hits(of: "F-0").filter { $0.status == 200 }.count == 1)
    }

    @Test func requeueThroughTheCLIGivesDeadMessagesAFreshBudget() async throws {
        let path = TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3")
        let outbox = try Outbox(path: path)
        // Enqueued 100 h ago: past the 72 h budget, so one 503 parks each at once.
        let old = Date().addingTimeInterval(-100 * hour)
        try await outbox.enqueue(json: event("A", 0), orderID: "A", now: old)
        try await outbox.enqueue(json: event("B", 0), orderID: "B", now: old)
        let tries = Tally()
        let server = ScriptedServer(answer: { attempt in
            let marker = attempt.body.contains("A-0") ? "A" : "B"
            let count = tries.add(marker)
            // A: 503 when it dies, 503 once more after the requeue (a fresh budget outlives it), then accepted.
            return count <= (marker == "A" ? 2 : 1) ? .status(503) : .ok
        })
        let file = path.path
        try await server.run { url in
            try await outbox.setDestination(.init(baseURL: url, token: "3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41", environment: .dev))
            #expect(
                try await OutboxDelivery(outbox: outbox, client: client(url), logger: outboxLogger).drain()
                    == OutboxCounts(pending: 0, delivered: 0, dead: 2))
            let status = try await EmiliaProcess.run(["outbox", "status", "--outbox", file])
            #expect(status.0 == 0 && status.1.contains("dead 2") && status.1.contains("emilia outbox requeue"))

            let a = try await #require(try outbox.deadMessages().first { $0.orderKey == "order:A" })
            let one = try await EmiliaProcess.run(["outbox", "requeue", "--outbox", file, "--id", String(a.id)])
            #expect(one.0 == 0 && one.1.contains("requeued 1 dead message(s); pending 1, delivered 0, dead 1"))
            let again = try await EmiliaProcess.run(["outbox", "requeue", "--outbox", file, "--id", String(a.id)])
            #expect(again.1.contains("requeued 0"), "only dead messages are requeued")
            #expect(try await EmiliaProcess.run(["outbox", "requeue", "--outbox", file, "--all", "--id", "1"]).0 != 0)

            let delivered = try await EmiliaProcess.run(["outbox", "deliver", "--outbox", file])
            #expect(delivered.0 == 0 && delivered.1.contains("pending 0, delivered 1, dead 1"))
            let rest = try await EmiliaProcess.run(["outbox", "requeue", "--outbox", file, "--json"])
            let requeued = try JSONSerialization.jsonObject(with: Data(rest.1.utf8)) as? [String: Int]
            #expect(requeued == ["requeued": 1, "pending": 1, "delivered": 1, "dead": 0], "\(rest.1)")
            let all = try await EmiliaProcess.run(["outbox", "deliver", "--outbox", file])
            #expect(all.1.contains("pending 0, delivered 2, dead 0"))
        }
        #expect(tries.all == ["A": 3, "B": 2])
        for marker in ["A-0", "B-0"] {
            #expect(Set(server.attempts.filter { $0.body.contains(marker) }.map(\.idempotencyKey)).count == 1)
        }
    }

    @Test func runOutlivesStorageErrorsAndDeliversOnceTheyAreGone() async throws {
        let path = TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3")
        let outbox = try Outbox(path: path)
        try await outbox.enqueue(json: event("A", 0), orderID: "A")
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let other = try DatabaseQueue(path: path.path, configuration: configuration)
        // Reads fail: the table is gone.
        try await other.write { try $0.execute(sql: "ALTER TABLE messages RENAME TO messages_away") }
        let server = ScriptedServer([.status(503)])
        let logs = LogLines()
        let logger = Logger(label: "outbox") { _ in RecordingLogHandler(lines: logs) }
        let storageErrors = { logs.all.filter { $0.contains("Outbox storage error") } }
        let quiet = Logger(label: "group", factory: { _ in SwiftLogNoOpLogHandler() })
        try await server.run { url in
            let delivery = OutboxDelivery(
                outbox: outbox, client: client(url),
                clock: RetryClock(
                    sleep: { try await Task.sleep(for: min($0, .milliseconds(20))) },
                    random: { 0.5 }),
                logger: logger)
            let group = ServiceGroup(services: [delivery], logger: quiet)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await waitUntil { storageErrors().count >= 3 }
                // Writes fail: every update is refused (a 503 cannot be recorded, nor a 200).
                try await other.write { db in
                    try db.execute(sql: "ALTER TABLE messages_away RENAME TO messages")
                    try db.execute(
                        sql: "CREATE TRIGGER refuse BEFORE UPDATE ON messages BEGIN SELECT RAISE(ABORT, 'the disk says no'); END")
                }
                try await waitUntil { server.attempts.count >= 3 && storageErrors().filter { $0.contains("the disk says no") }.count >= 3 }
                await #expect(try outbox.counts() == OutboxCounts(pending: 1, delivered: 0, dead: 0))
                try await other.write { try $0.execute(sql: "DROP TRIGGER refuse") }
                try await waitUntil { try await outbox.counts().delivered == 1 }
                // And it goes on delivering what comes next.
                try await outbox.enqueue(json: event("A", 1), orderID: "A")
                try await waitUntil { try await outbox.counts().delivered == 2 }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(Set(server.attempts.filter { $0.body.contains("A-0") }.map(\.idempotencyKey)).count == 1)
    }
}
