import AsyncHTTPClient
import EmiliaClient
import EmiliaModel
import Foundation
import Logging

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
    var showsProgress: Bool

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
        let delivery = OutboxDelivery(outbox: box, client: client, logger: Logger(label: "emilia.outbox"))
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
            if showsProgress { bar.update(done: total - counts.pending, total: total) }
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
