import ArgumentParser
import EmiliaClient
import EmiliaIngest
import EmiliaModel
import EmiliaStorage
import EmiliaStore
import Foundation
import Logging

/// `emilia seed`: fills a data directory with generated history (restaurants, days of service) through the
/// real store and group-commit writer — for benchmarks and for trying the dashboard on a full database.
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Fill a data directory with generated restaurants and days of service.")

    @OptionGroup var storage: StorageOptions
    @Option(help: "How many restaurants (tokens) to create.") var restaurants = 5
    @Option(help: "How many past days of service per restaurant.") var days = 7
    @Option(help: "About how many table sessions per restaurant and day.") var sessionsPerDay = 60
    @Option(help: "Environment to write into: prod or dev.") var env = "prod"
    @Option(help: "Random seed: the same seed gives the same history.") var seed: UInt64 = 1

    func run() async throws {
        guard let environment = DeploymentEnvironment(queryValue: env) else { throw ValidationError("env must be dev or prod") }
        let (restaurants, days, sessionsPerDay, seed) = (restaurants, days, sessionsPerDay, seed)
        let (total, planCount, dayCount) = try await storage.withStore(label: "emilia.seed", runningServices: true) { store in
            try await Self.seed(
                store, restaurants: restaurants, days: days, sessionsPerDay: sessionsPerDay,
                environment: environment, seed: seed)
        }
        let place = try storage.storage().displayName
        Console.line("Seeded \(total) events for \(planCount) restaurants over \(dayCount) days in \(place).")
    }

    /// Creates the restaurants and appends their history; answers the events, restaurants and days written.
    static func seed(
        _ store: any EventStore, restaurants: Int, days: Int, sessionsPerDay: Int, environment: DeploymentEnvironment,
        seed: UInt64
    ) async throws -> (Int, Int, Int) {
        var random = SeededRandom(seed: seed)
        // No rate limit: the history goes in as fast as the store takes it.
        let ingestor = Ingestor(store: store, limits: .init(maximumBodyBytes: .max))
        let zone = TimeZone(identifier: "America/Sao_Paulo")!
        var plans: [(TokenRecord, ServiceNightGenerator)] = []
        for index in 0..<restaurants {
            let name = "Restaurante \(index + 1)"
            let issued = try await store.createToken(name: name, timeZone: zone.identifier)
            plans.append((issued.record, ServiceNightGenerator(restaurant: .make(name: name, timeZone: zone, random: &random))))
        }
        let today = Date()
        let dayNames = (1...max(1, days)).reversed().map { LocalDay.of(today.addingTimeInterval(-86_400 * Double($0)), in: zone) }
        let bar = ProgressBar(label: "Seeding")
        var total = 0
        for (planIndex, (token, generator)) in plans.enumerated() {
            let admission = try ingestor.admit(.init(env: environment.rawValue), token: token)
            var events: [IncomingEvent] = []
            for day in dayNames {
                for session in generator.sessions(on: day, count: sessionsPerDay, orderPrefix: "\(day)", random: &random) {
                    for (index, payload) in session.payloads.enumerated() {
                        let metadata = Ingestor.PostMetadata(idempotencyKey: "seed:\(session.orderID):\(index)")
                        events.append(
                            try ingestor.event(
                                from: payload.encoded(in: zone), admission: admission, metadata: metadata, receivedAt: nil))
                    }
                }
            }
            try await Self.append(events, to: store)
            total += events.count
            bar.update(done: planIndex + 1, total: plans.count)
        }
        return (total, plans.count, dayNames.count)
    }

    /// Appends with many writes in flight, so the writer commits them in large batches.
    static func append(_ events: [IncomingEvent], to store: any EventStore) async throws {
        try await withThrowingTaskGroup(of: Void.self) { appends in
            var inFlight = 0
            for event in events {
                if inFlight >= 2000 {
                    try await appends.next()
                    inFlight -= 1
                }
                appends.addTask { _ = try await store.append(event) }
                inFlight += 1
            }
            try await appends.waitForAll()
        }
    }
}
