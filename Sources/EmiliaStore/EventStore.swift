public import EmiliaModel
public import Foundation

/// Everything the server and the CLI need from storage: one narrow async protocol, implemented by SQLite
/// (`EmiliaSQLite`, one machine) and PostgreSQL (`EmiliaPostgres`, several nodes on one database), held to the same
/// behaviour by one conformance suite.
///
/// Errors: every throwing call throws `StoreError`. `.unavailable` means the storage cannot answer now (disk full,
/// database unreachable, shutting down): the caller may retry the same call later. `.notFound` and `.invalidInput`
/// are about the arguments: retrying cannot help. Ids are compared case-insensitively (stored lowercased).
public protocol EventStore: Sendable {
    /// The active token with this clear value (a rotated-out value works until its grace period ends), or nil.
    /// Answers may be cached for `tokenCacheLifetime` (1 s by default): a change made elsewhere holds within it.
    func activeToken(matching clearToken: String) async throws -> TokenRecord?
    /// The active token with this clear value when a recent look-up found it, without reading storage; else nil.
    func recentlyVerifiedToken(matching clearToken: String) -> TokenRecord?
    /// Stores the event durably and answers once it is committed. Idempotent on (token, env, dedup key): a second
    /// append of the same key stores nothing and answers the first copy's id, time and warnings, `duplicate: true`.
    func append(_ event: IncomingEvent) async throws -> AppendReceipt
    /// Records a refused request; batched with other writes, never blocks the caller. Dropped (not thrown) when the
    /// store cannot take it: a refusal is counted in the metrics either way.
    func recordRejection(_ rejection: Rejection)

    /// Creates an active token and answers its clear value (the only time it exists). Throws `.invalidInput` for an
    /// unknown zone or a name that is empty or over 200 characters.
    func createToken(name: String, timeZone: String) async throws -> IssuedToken
    /// Every token, oldest first. Reads only, like every call below that answers without changing anything.
    func listTokens() async throws -> [TokenRecord]
    /// The token with this id, or nil.
    func token(id: String) async throws -> TokenRecord?
    /// Activates or deactivates a token (idempotent); throws `.notFound` for an unknown id.
    func setTokenStatus(id: String, _ status: TokenStatus) async throws -> TokenRecord
    /// Issues a new token value; the old one keeps working for `grace`. Throws `.notFound` for an unknown id.
    func rotateToken(id: String, grace: Duration) async throws -> IssuedToken

    /// An event's metadata and warnings, or nil.
    func event(id: String) async throws -> StoredEvent?
    /// An event's exact stored bytes, or nil.
    func rawBody(eventID: String) async throws -> Data?
    /// The token's refused posts, newest first; with `environment`, those of that env (and those refused before an
    /// env could be read).
    func rejections(tokenID: String, environment: DeploymentEnvironment?, limit: Int) async throws -> [Rejection]

    /// The sessions of a restaurant's local day (`YYYY-MM-DD`), by opening time. Includes every event appended
    /// before the call (waiting up to 2 s for the fold; past that, what is folded).
    func sessions(tokenID: String, environment: DeploymentEnvironment, localDate: String) async throws -> [TableSession]
    /// One session by its order id, with the same freshness as `sessions`.
    func session(tokenID: String, environment: DeploymentEnvironment, orderID: String) async throws -> TableSession?
    /// Event and rejection counts over [from, to).
    func dataQuality(tokenID: String, environment: DeploymentEnvironment, from: Date, to: Date) async throws -> DataQuality
    /// A page of the event log, newest first (or oldest first with `isOldestFirst`). Pages follow commit order: a cursor
    /// never skips an event committed after the page was read, whichever node or transaction committed it.
    func events(_ query: EventQuery) async throws -> EventPage
    /// A number that moves on whenever events are appended, through this node or (PostgreSQL) any other: read it
    /// before reading the log, then `waitForAppends(after:timeout:)` instead of polling.
    var appendGeneration: UInt64 { get }
    /// Returns once `appendGeneration` moved past `generation`, after `timeout`, or when the task is cancelled.
    func waitForAppends(after generation: UInt64, timeout: Duration) async
    /// For each token in `windows` (by id): when it last posted, and how many prod events (and with warnings) it sent
    /// in its window (a restaurant's "today" depends on its zone). One read, however many tokens.
    func activities(in windows: [String: Range<Date>]) async throws -> [String: TokenActivity]
    /// Re-folds every session from the event log; `progress(done, total)` is called as it goes.
    func rebuildSessions(progress: @Sendable (Int, Int) -> Void) async throws -> Int
    /// Deletes events and rejections received before `cutoff`, `batchSize` rows per transaction; answers how many
    /// events went. Idempotent. Sessions stay.
    func deleteExpired(olderThan cutoff: Date, batchSize: Int) async throws -> Int

    /// How many server nodes share this storage now (1 for SQLite; the live nodes of a PostgreSQL cluster): each
    /// node enforces its share of a token's rate limit.
    var nodeCount: Int { get }

    /// Writes queued but not yet committed, and the age of the oldest (for `/metrics`).
    func writeBacklog() -> (count: Int, oldestAge: Duration?)

    /// Throws `.unavailable` when storage cannot serve reads and writes.
    func checkHealth() async throws
}
