import EmiliaIngest
import EmiliaModel
import EmiliaStore
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle
import Synchronization

/// Records refused posts of known tokens at a bounded rate: each token's first refusals (a burst, then a few a
/// minute) are kept in full — reason, request id, the start of a 400's body — and logged; past that they are added
/// up per token, env, status and reason and written as one record with a count every `flushInterval` (10 s). Every refusal
/// counts in `emilia_rejections_total`. So a POS that ignores `Retry-After` costs a bounded number of rows and log
/// lines, whatever it sends.
final class RejectionRecorder: Service, CustomStringConvertible {
    private struct Key: Hashable {
        var tokenID: String
        var environment: DeploymentEnvironment?
        var status: Int
        var reason: String
    }

    private struct Tally {
        var detail: String
        var count: Int
    }

    private let store: any EventStore
    private let metrics: ServerMetrics
    private let detailed: RateLimiter
    private let tallies = Mutex<[Key: Tally]>([:])
    private let now: @Sendable () -> Date
    /// How often the counts are written.
    let flushInterval: Duration

    var description: String { "RejectionRecorder" }

    init(
        store: any EventStore, metrics: ServerMetrics, perMinute: Double, burst: Double, flushInterval: Duration = .seconds(10),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.flushInterval = flushInterval
        self.metrics = metrics
        self.now = now
        detailed = RateLimiter(rate: perMinute / 60, burst: burst)
    }

    /// Records one refusal of `token`'s post: in full while the token's allowance lasts, else as a count.
    func record(_ refusal: IngestRefusal, token: TokenRecord, requestID: String, logger: Logger) {
        let reason = refusal.reason.code
        let status = APIError.status(for: refusal.reason)
        metrics.recordRejection(reason: reason)
        guard detailed.acquire(token.id) == nil else {
            let key = Key(tokenID: token.id, environment: refusal.environment, status: Int(status.code), reason: reason)
            tallies.withLock { $0[key, default: Tally(detail: refusal.detail, count: 0)].count += 1 }
            return
        }
        store.recordRejection(
            Rejection(
                tokenID: token.id, environment: refusal.environment, at: now(), status: Int(status.code),
                reason: refusal.detail, bodyPrefix: refusal.body.map { Data($0.prefix(Rejection.bodyPrefixLimit)) }, requestID: requestID))
        logger.info(
            "Webhook refused",
            metadata: ["token_prefix": .string(token.prefix), "status": .stringConvertible(status.code), "reason": .string(reason)])
    }

    /// Writes the counts gathered so far, one record per token, env, status and reason.
    func flush() {
        let gathered = tallies.withLock { tallies in
            defer { tallies.removeAll() }
            return tallies
        }
        let at = now()
        for (key, tally) in gathered {
            store.recordRejection(
                Rejection(
                    tokenID: key.tokenID, environment: key.environment, at: at, status: key.status,
                    reason: tally.detail, bodyPrefix: nil, requestID: nil, count: tally.count))
        }
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.flushInterval) }
            flush()
        }
    }
}
