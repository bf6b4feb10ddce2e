import EmiliaModel
import Foundation

/// Everything the server needs from storage: one narrow async protocol, implemented by SQLite (and,
/// for several nodes, PostgreSQL), tested by one conformance suite.
public protocol EventStore: Sendable {
    /// The active token with this clear value (a rotated-out value works until its grace period ends).
    func activeToken(matching clearToken: String) async throws -> TokenRecord?
    /// The active token with this clear value when a recent look-up found it, without reading storage; else nil.
    func recentlyVerifiedToken(matching clearToken: String) -> TokenRecord?
    /// Stores the event durably (or finds its earlier copy by dedup key) and answers once committed.
    func append(_ event: IncomingEvent) async throws -> AppendReceipt
    /// Records a refused request; may be batched with other writes, never blocks the caller on disk.
    func recordRejection(_ rejection: Rejection)

    func createToken(name: String, timeZone: String) async throws -> IssuedToken
    func listTokens() async throws -> [TokenRecord]
    func token(id: String) async throws -> TokenRecord?
    func setTokenStatus(id: String, _ status: TokenStatus) async throws -> TokenRecord
    /// Issues a new token value; the old one keeps working for `grace`.
    func rotateToken(id: String, grace: Duration) async throws -> IssuedToken

    func event(id: String) async throws -> StoredEvent?
    func rawBody(eventID: String) async throws -> Data?
    /// The token's refused posts, newest first; with `environment`, those of that env (and those refused before an
    /// env could be read).
    func rejections(tokenID: String, environment: DeploymentEnvironment?, limit: Int) async throws -> [Rejection]

    /// The sessions of a restaurant's local day (`YYYY-MM-DD`), by opening time.
    func sessions(tokenID: String, environment: DeploymentEnvironment, localDate: String) async throws -> [TableSession]
    /// One session by its order id.
    func session(tokenID: String, environment: DeploymentEnvironment, orderID: String) async throws -> TableSession?
    /// Event and rejection counts over [from, to).
    func dataQuality(tokenID: String, environment: DeploymentEnvironment, from: Date, to: Date) async throws -> DataQuality
    /// A page of the event log, newest first.
    func events(_ query: EventQuery) async throws -> EventPage
    /// When the token last posted, and how many events (and with warnings) it sent in [from, to).
    func activity(tokenID: String, from: Date, to: Date) async throws -> TokenActivity
    /// Re-folds every session from the event log; `progress(done, total)` is called as it goes.
    func rebuildSessions(progress: @Sendable (Int, Int) -> Void) async throws -> Int

    /// Writes queued but not yet committed, and the age of the oldest (for `/metrics`).
    func writeBacklog() -> (count: Int, oldestAge: Duration?)

    /// Throws when storage cannot serve reads and writes.
    func checkHealth() async throws
}
