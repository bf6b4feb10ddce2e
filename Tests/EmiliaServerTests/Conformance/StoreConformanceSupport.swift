import EmiliaIngest
import EmiliaModel
import EmiliaStorage
import EmiliaStore
import Foundation

/// Opens a fresh store of `backend` with its services running, runs `body`, and stops it gracefully.
func withFreshStore<T: Sendable>(_ backend: Backend, _ body: @Sendable (any EventStore) async throws -> T) async throws -> T {
    let storage = try await TestDatabase.fresh(backend)
    defer { if case .sqlite(let directory) = storage { try? FileManager.default.removeItem(at: directory) } }
    return try await storage.withStore(logger: TestDatabase.logger, runningServices: true, body)
}

/// An event as ingest hands it to the store (the `Ingestor`'s own code): validated, with its summary and warnings.
/// `metadata` stands for the post's headers (a fresh idempotency key unless `key` or `metadata` gives one);
/// `receivedAt` is the time ingest reads it at (nil: now).
func incomingEvent(
    _ body: String, token: TokenRecord, store: any EventStore, environment: DeploymentEnvironment = .prod, key: String? = nil,
    metadata: Ingestor.PostMetadata? = nil, receivedAt: Date? = nil
) throws -> IncomingEvent {
    let ingestor = Ingestor(store: store, limits: .init(maximumBodyBytes: .max))
    let admission = try ingestor.admit(.init(env: environment.rawValue), token: token)
    return try ingestor.event(
        from: Data(body.utf8), admission: admission, metadata: metadata ?? .init(idempotencyKey: key ?? UUID().uuidString),
        receivedAt: receivedAt)
}

/// A small check in UTC on 2025-11-24: opened, two items, closed with totals.
enum SampleCheck {
    static func events(order: String, table: String = "Mesa 4") -> [String] {
        [
            #"{"event":"session_opened","order_id":"\#(order)","table_number":"\#(table)","timestamp":"2025-11-24T18:30:00Z","guests":2}"#,
            #"{"event":"items_added","order_id":"\#(order)","table_number":"\#(table)","timestamp":"2025-11-24T18:40:00Z","items":[{"name":"Pasta","price":42.5,"quantity":2,"timestamp":"2025-11-24T18:40:00Z","employee_id":"7"}]}"#,
            #"{"event":"session_complete","order_id":"\#(order)","table_number":"\#(table)","timestamp":"2025-11-24T19:30:00Z","session_start":"2025-11-24T18:30:00Z","session_end":"2025-11-24T19:30:00Z","items":[{"name":"Pasta","price":42.5,"quantity":2,"timestamp":"2025-11-24T18:40:00Z","employee_id":"7"}],"totals":{"subtotal":85.0,"tax":8.5,"tip":10.0,"total":103.5}}"#,
        ]
    }

    static let day = "2025-11-24"
    static let dayStart = Date(timeIntervalSince1970: 1_763_942_400)  // 2025-11-24T00:00:00Z
}
