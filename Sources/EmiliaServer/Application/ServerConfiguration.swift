public import EmiliaStorage
import EmiliaStore
public import Foundation

/// Everything `emilia serve` can be told, with the documented defaults.
public struct ServerConfiguration: Sendable {
    /// The address to bind (`EMILIA_HOST`); loopback by default.
    public var host = "127.0.0.1"
    /// The port (`EMILIA_PORT`); 0 picks a free one.
    public var port = 8080
    /// Where the SQLite file and the generated admin key live (`EMILIA_DATA_DIR`).
    public var dataDirectory = URL(fileURLWithPath: "emilia-data")
    /// A `postgres://` URL (`EMILIA_DATABASE_URL`): keep the data in PostgreSQL, shared with other nodes, instead of
    /// SQLite in `dataDirectory`.
    public var databaseURL: String?
    /// The admin API key (`EMILIA_ADMIN_KEY`). Never empty; see `AdminKey`.
    public var adminKey: String
    /// The largest accepted body: 10 MiB.
    public var maximumBodyBytes = 10 * 1024 * 1024
    /// Sustained requests per second per token (both envs together); 0 means no limit.
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
    /// The most memory webhook bodies may hold at once, from the first byte read to the answer, each body counted
    /// twice (as read and as stored) (`EMILIA_INGEST_MEMORY_MB`, 256 MiB by default). One token may hold a quarter
    /// of it (at least one largest body). A post that would go past either gets 503 + `Retry-After`.
    public var ingestMemoryBudget = 256 * 1024 * 1024
    /// Below this much free space on the data directory's disk, `/health` answers 503.
    public var minimumFreeDiskBytes: Int64 = 16 * 1024 * 1024
    /// Failed token look-ups (unknown or inactive tokens) a client address may make per second, and at once.
    public var unknownTokenRatePerSecond = 5.0
    public var unknownTokenBurst = 20.0
    /// Failed dashboard sign-ins a client address may make per minute, and at once.
    public var signInFailuresPerMinute = 5.0
    public var signInFailureBurst = 10.0
    /// Refusals of one token recorded in full (reason, request id, body start) per minute, and at once; the rest
    /// are kept as counts (`emilia_rejections_total` counts every one).
    public var detailedRejectionsPerMinute = 12.0
    public var detailedRejectionBurst = 20.0
    /// How often the counts of refusals not recorded in full are written.
    public var rejectionCountInterval: Duration = .seconds(10)
    /// Behind a reverse proxy (`EMILIA_TRUST_PROXY=1`): take the client's address from `X-Forwarded-For` and
    /// HTTPS from `X-Forwarded-Proto`. Off by default, since anyone can send those headers.
    public var trustProxy = false
    /// HTTPS from the binary (`--tls-cert`/`--tls-key`): PEM files of the certificate chain and its private key.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?

    /// Benchmarks only, off by default: adds two baselines for `scripts/bench.sh`. `POST /noop/webhooks/v1/pos/{token}`
    /// reads the body and answers a fixed 200 without validating or storing (the framework's ceiling on this machine);
    /// `POST /unstored/webhooks/v1/pos/{token}` does all the real route does but store (the request path's ceiling).
    public var enableBenchmarkRoutes = false

    public init(adminKey: String) {
        self.adminKey = adminKey
    }

    /// Refuses settings the server cannot run with, with a sentence naming the setting.
    public func validate() throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw ConfigurationError(message) }
        }
        try check(
            rateLimitPerSecond.isFinite && rateLimitPerSecond >= 0,
            "EMILIA_RATE_LIMIT must be 0 (no limit) or a positive number of requests per second")
        try check(rateLimitBurst.isFinite && rateLimitBurst >= 1, "EMILIA_RATE_BURST must be a number of requests, 1 or more")
        try check(maximumBodyBytes > 0, "the body limit must be positive")
        try check(
            ingestMemoryBudget / ByteBudget.copiesPerByte >= maximumBodyBytes,
            "EMILIA_INGEST_MEMORY_MB must hold at least one largest body twice (\(2 * maximumBodyBytes / (1024 * 1024)) MiB)")
        try check(maximumPendingWrites > 0, "the write queue must hold at least one write")
        try check(port >= 0 && port <= 65_535, "EMILIA_PORT must be between 0 and 65535")
        for (value, name) in [
            (unknownTokenRatePerSecond, "unknown-token rate"), (unknownTokenBurst, "unknown-token burst"),
            (signInFailuresPerMinute, "sign-in rate"), (signInFailureBurst, "sign-in burst"),
            (detailedRejectionsPerMinute, "rejection record rate"), (detailedRejectionBurst, "rejection burst"),
        ] {
            try check(value.isFinite && value > 0, "the \(name) must be a positive number")
        }
        try check((tlsCertificatePath == nil) == (tlsKeyPath == nil), "--tls-cert and --tls-key go together: give both or neither")
        _ = try tlsConfiguration()
        do {
            _ = try storage()
        } catch let error as StoreError {
            throw ConfigurationError("EMILIA_DATABASE_URL: \(error.message)")
        }
    }

    /// Where the data lives: PostgreSQL when `databaseURL` is set, else SQLite in `dataDirectory`.
    public func storage() throws -> StorageConfiguration {
        try StorageConfiguration.resolve(databaseURL: databaseURL, dataDirectory: dataDirectory)
    }

    /// The store's tuning from these settings.
    func storageTuning(monitor: StoreMonitor) -> StorageTuning {
        var tuning = StorageTuning()
        tuning.tokenCacheLifetime = tokenCacheLifetime
        tuning.busyTimeout = storageBusyTimeout
        tuning.separateCheckpoints = separateCheckpoints
        tuning.maximumPendingWrites = maximumPendingWrites
        tuning.minimumFreeBytes = minimumFreeDiskBytes
        tuning.monitor = monitor
        return tuning
    }
}

/// A setting `emilia serve` cannot run with.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
