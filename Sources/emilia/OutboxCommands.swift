import ArgumentParser
import AsyncHTTPClient
import EmiliaClient
import EmiliaModel
import Foundation

/// `emilia simulate`: a restaurant's night of service sent through a durable outbox, with progress.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate", abstract: "Send a simulated night of service through the outbox.")
    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "The restaurant's webhook token.") var token: String
    @Option(help: "How many table sessions.") var sessions = 30
    @Option(help: "The outbox file.") var outbox = "emilia-outbox.sqlite3"
    @Option(help: "dev or prod.") var env = "dev"
    @Option(help: "max: enqueue at once; realtime: enqueue each event when it happens (the night starts now); Nx: realtime N times faster.")
    var speed = "max"
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Print JSON; the last line is the summary.") var json = false
    @Option(help: "A PEM CA certificate to trust, for an HTTPS server with a self-signed certificate.") var caFile: String?

    func run() async throws {
        guard let environment = DeploymentEnvironment(queryValue: env) else { throw ValidationError("env must be dev or prod") }
        let timeScale: Double?
        switch speed {
        case "max": timeScale = nil
        case "realtime": timeScale = 1
        default:
            guard speed.hasSuffix("x"), let factor = Double(speed.dropLast()), factor >= 1 else {
                throw ValidationError("speed must be max, realtime, or a speed-up such as 60x")
            }
            timeScale = factor
        }
        let simulation = Simulation(
            url: url, token: token, environment: environment, sessions: sessions, outboxPath: outbox,
            timeScale: timeScale, seed: seed, showProgress: !json)
        let summary = try await HTTPClient.withWebhookHTTPClient(trustingCAFile: caFile) { http in try await simulation.run(http: http) }
        if json {
            Console.line(
                #"{"sessions": \#(summary.sessions), "enqueued": \#(summary.enqueued), "delivered": \#(summary.counts.delivered), "dead": \#(summary.counts.dead)}"#
            )
        } else {
            Console.line(
                "\(summary.sessions) sessions, \(summary.enqueued) events enqueued: \(summary.counts.delivered) delivered, \(summary.counts.dead) dead."
            )
        }
    }
}

/// A simulated night pushed through an outbox and delivered, shared by `simulate` and `demo`.
struct Simulation: Sendable {
    var url: String
    var token: String
    var environment: DeploymentEnvironment
    var sessions: Int
    var outboxPath: String
    /// nil: enqueue everything at once; otherwise how many times faster than real time events are enqueued.
    var timeScale: Double?
    var seed: UInt64
    var showProgress: Bool

    struct Summary: Sendable {
        var sessions: Int
        var enqueued: Int
        var counts: OutboxCounts
    }

    /// Runs the night, delivering through `http` (the shared client by default).
    func run(http: HTTPClient = .shared) async throws -> Summary {
        let zone = TimeZone(identifier: "America/Sao_Paulo")!
        var random = SeededRandom(seed: seed)
        let restaurant = SimulatedRestaurant.make(name: "Simulated", timeZone: zone, random: &random)
        let night = ServiceNightGenerator(restaurant: restaurant)
            .sessions(
                on: LocalDay.of(Date(), in: zone), count: sessions, orderPrefix: "SIM-\(seed)-\(Int(Date().timeIntervalSince1970))",
                random: &random)
        let box = try Outbox(path: URL(fileURLWithPath: outboxPath))
        let destination = Outbox.Destination(baseURL: url, token: token, environment: environment)
        try box.setDestination(destination)
        let client = WebhookClient(token: token, environment: environment, baseURL: url, timeZone: zone, http: http)
        let delivery = OutboxDelivery(outbox: box, client: client)
        let already = try box.counts()
        var enqueued = 0
        let payloads = night.flatMap(\.payloads).map { ($0, Self.when($0)) }.sorted { $0.1 < $1.1 }
        if let timeScale {
            // Each event is enqueued when it happens (the night starts now) while the delivery service sends.
            let start = Date()
            let nightStart = payloads.first?.1 ?? start
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await delivery.run() }
                for (payload, at) in payloads {
                    let wait = at.timeIntervalSince(nightStart) / timeScale - Date().timeIntervalSince(start)
                    if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
                    try box.enqueue(payload, timeZone: zone)
                    enqueued += 1
                }
                group.cancelAll()
            }
        } else {
            for (payload, _) in payloads {
                try box.enqueue(payload, timeZone: zone)
                enqueued += 1
            }
        }
        let bar = ProgressBar(label: "Delivering")
        let total = enqueued + already.pending
        let counts = try await delivery.drain { counts in
            if showProgress { bar.update(done: total - counts.pending, total: total) }
        }
        return Summary(
            sessions: night.count, enqueued: enqueued,
            counts: OutboxCounts(
                pending: counts.pending, delivered: counts.delivered - already.delivered,
                dead: counts.dead - already.dead))
    }

    static func when(_ payload: any WebhookPayload) -> Date {
        switch payload {
        case let opened as SessionOpened: return opened.openedAt
        case let items as ItemsAdded: return items.sentAt
        case let complete as SessionComplete: return complete.closedAt
        default: return Date()
        }
    }
}

/// `emilia outbox status|deliver|requeue`: what a (possibly crashed) process left in an outbox, finishing it, and
/// giving dead messages another chance.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "Inspect or drain a durable outbox.",
        subcommands: [Status.self, Deliver.self, Requeue.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counts of pending, delivered and dead messages.")
        @Option(help: "The outbox file.") var outbox = "emilia-outbox.sqlite3"
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let box = try Outbox(path: URL(fileURLWithPath: outbox))
            let counts = try box.counts()
            if json {
                Console.line(#"{"pending": \#(counts.pending), "delivered": \#(counts.delivered), "dead": \#(counts.dead)}"#)
                return
            }
            Console.line("pending \(counts.pending), delivered \(counts.delivered), dead \(counts.dead)")
            let now = Date()
            for message in try box.retryingMessages(limit: 20) {
                Console.line(
                    "retrying #\(message.id): \(message.attempts) attempt(s) over \(Self.span(now.timeIntervalSince(message.createdAt))), "
                        + "next in \(Self.span(message.nextAttemptAt.timeIntervalSince(now))): \(message.lastError ?? "")")
            }
            for message in try box.deadMessages(limit: 20) {
                Console.line("dead #\(message.id) after \(message.attempts) attempt(s): \(message.lastError ?? "")")
            }
            if counts.dead > 0 { Console.line("Put dead messages back with: emilia outbox requeue --outbox \(outbox)") }
        }

        /// "2 h 5 min", "4 min", "12 s".
        static func span(_ seconds: TimeInterval) -> String {
            let whole = max(0, Int(seconds.rounded()))
            if whole >= 3600 { return "\(whole / 3600) h \(whole % 3600 / 60) min" }
            if whole >= 60 { return "\(whole / 60) min" }
            return "\(whole) s"
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver everything pending, then exit.")
        @Option(help: "The outbox file.") var outbox = "emilia-outbox.sqlite3"
        @Option(help: "A PEM CA certificate to trust, for an HTTPS server with a self-signed certificate.") var caFile: String?

        func run() async throws {
            let box = try Outbox(path: URL(fileURLWithPath: outbox))
            guard let destination = try box.destination() else { throw ValidationError("this outbox has no destination yet") }
            let counts = try await HTTPClient.withWebhookHTTPClient(trustingCAFile: caFile) { http in
                let client = WebhookClient(
                    token: destination.token, environment: destination.environment,
                    baseURL: destination.baseURL, http: http)
                return try await OutboxDelivery(outbox: box, client: client).drain()
            }
            Console.line("pending \(counts.pending), delivered \(counts.delivered), dead \(counts.dead)")
        }
    }

    struct Requeue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead messages back to pending, due now, with a fresh 72 h retry budget.",
            discussion: "Without --id, every dead message. A requeued message may reach the server after later messages of its order.")
        @Option(help: "The outbox file.") var outbox = "emilia-outbox.sqlite3"
        @Flag(help: "Every dead message (the default).") var all = false
        @Option(name: .customLong("id"), help: "A dead message's id (repeatable).") var ids: [Int64] = []
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if all && !ids.isEmpty { throw ValidationError("use either --all or --id, not both") }
        }

        func run() throws {
            guard FileManager.default.fileExists(atPath: outbox) else { throw ValidationError("no outbox at \(outbox)") }
            let box = try Outbox(path: URL(fileURLWithPath: outbox))
            let requeued = try box.requeueDead(ids: ids.isEmpty ? nil : ids)
            let counts = try box.counts()
            if json {
                Console.line(
                    #"{"requeued": \#(requeued), "pending": \#(counts.pending), "delivered": \#(counts.delivered), "dead": \#(counts.dead)}"#
                )
                return
            }
            Console.line(
                "requeued \(requeued) dead message(s); pending \(counts.pending), delivered \(counts.delivered), dead \(counts.dead)")
        }
    }
}
