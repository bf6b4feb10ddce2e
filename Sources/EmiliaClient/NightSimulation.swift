public import AsyncHTTPClient
public import EmiliaModel
import Foundation
public import Logging

/// A restaurant's simulated night of service, pushed through a durable outbox and delivered: what `emilia simulate`
/// and `emilia demo` run, and what an integrator can run to load-test a receiver.
public struct NightSimulation: Sendable {
    public var url: String
    public var token: String
    public var environment: DeploymentEnvironment
    public var sessions: Int
    public var outboxPath: String
    /// nil: enqueue everything at once; otherwise how many times faster than real time events are enqueued.
    public var timeScale: Double?
    public var seed: UInt64

    public init(
        url: String, token: String, environment: DeploymentEnvironment, sessions: Int, outboxPath: String, timeScale: Double?,
        seed: UInt64
    ) {
        self.url = url
        self.token = token
        self.environment = environment
        self.sessions = sessions
        self.outboxPath = outboxPath
        self.timeScale = timeScale
        self.seed = seed
    }

    /// What one run did: the night's sessions, the events it enqueued, and what became of them.
    public struct Summary: Sendable, Encodable {
        public var sessions: Int
        public var enqueued: Int
        public var delivered: Int
        public var dead: Int
        public var pending: Int
    }

    /// Enqueues the night and delivers it; `progress` hears (delivered or dead so far, total) while it drains.
    public func run(
        http: HTTPClient = .shared, logger: Logger, progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) async throws -> Summary {
        let zone = TimeZone(identifier: "America/Sao_Paulo")!
        var random = SeededRandom(seed: seed)
        let restaurant = SimulatedRestaurant.make(name: "Simulated", timeZone: zone, random: &random)
        let night = ServiceNightGenerator(restaurant: restaurant)
            .sessions(
                on: LocalDay.of(Date(), in: zone), count: sessions, orderPrefix: "SIM-\(seed)-\(Int(Date().timeIntervalSince1970))",
                random: &random)
        let box = try Outbox(path: URL(fileURLWithPath: outboxPath))
        let destination = Outbox.Destination(baseURL: url, token: token, environment: environment)
        try await box.setDestination(destination)
        let client = WebhookClient(token: token, environment: environment, baseURL: url, timeZone: zone, http: http)
        let delivery = OutboxDelivery(outbox: box, client: client, logger: logger)
        let already = try await box.counts()
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
                    try await box.enqueue(payload, timeZone: zone)
                    enqueued += 1
                }
                group.cancelAll()
            }
        } else {
            for (payload, _) in payloads {
                try await box.enqueue(payload, timeZone: zone)
                enqueued += 1
            }
        }
        let total = enqueued + already.pending
        let counts = try await delivery.drain { counts in progress(total - counts.pending, total) }
        return Summary(
            sessions: night.count, enqueued: enqueued, delivered: counts.delivered - already.delivered,
            dead: counts.dead - already.dead, pending: counts.pending)
    }

    private static func when(_ payload: any WebhookPayload) -> Date {
        switch payload {
        case let opened as SessionOpened: return opened.openedAt
        case let items as ItemsAdded: return items.sentAt
        case let complete as SessionComplete: return complete.closedAt
        default: return Date()
        }
    }
}
