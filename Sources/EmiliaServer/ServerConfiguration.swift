import Foundation

/// Everything `emilia serve` can be told, with the documented defaults.
public struct ServerConfiguration: Sendable {
    /// The address to bind (`EMILIA_HOST`); loopback by default.
    public var host = "127.0.0.1"
    /// The port (`EMILIA_PORT`); 0 picks a free one.
    public var port = 8080
    /// Where the SQLite file and the generated admin key live (`EMILIA_DATA_DIR`).
    public var dataDirectory = URL(fileURLWithPath: "emilia-data")
    /// The admin API key (`EMILIA_ADMIN_KEY`). Never empty; see `AdminKey`.
    public var adminKey: String
    /// The largest accepted body: 10 MiB.
    public var maximumBodyBytes = 10 * 1024 * 1024
    /// Sustained requests per second per token (both envs together).
    public var rateLimitPerSecond = 100.0
    /// The burst a token may send at once.
    public var rateLimitBurst = 200.0
    /// The zone given to new tokens that name none (`EMILIA_DEFAULT_TIMEZONE`).
    public var defaultTimeZone = "America/Sao_Paulo"
    /// How long a rotated-out token keeps working.
    public var rotationGrace: Duration = .seconds(24 * 3600)
    /// How long a client may take to send its body before 408.
    public var bodyTimeout: Duration = .seconds(30)
    /// How long a token look-up is remembered (deactivation in another process takes effect within it).
    public var tokenCacheLifetime: Duration = .seconds(1)
    /// How long a write waits for a lock held by another process before it fails (then ingest answers 503).
    public var storageBusyTimeout: Duration = .seconds(5)
    /// Checkpoint the SQLite WAL from a connection of its own, off the commit path (`EMILIA_SEPARATE_CHECKPOINTS=0`
    /// turns it off, for comparison).
    public var separateCheckpoints = true
    /// How long events are kept (`EMILIA_RETENTION_DAYS`, default 90; nil keeps them forever). Never under 72 h.
    public var retention: Duration? = .seconds(90 * 86_400)
    /// The most writes waiting for a commit before ingest answers 503.
    public var maximumPendingWrites = 50_000

    /// Benchmarks only: adds `POST /noop/webhooks/v1/pos/{token}`, which reads the body and answers a fixed
    /// 200 without validating or storing (the framework's ceiling on this machine). Off by default.
    public var enableNoOpRoute = false

    public init(adminKey: String) {
        self.adminKey = adminKey
    }
}
