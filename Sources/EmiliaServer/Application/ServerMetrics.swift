import EmiliaStore
import Foundation
public import Prometheus
import Synchronization

/// The Prometheus metrics `/metrics` shows: requests by route and status, ingest latency, commit batches,
/// rejections by reason.
public final class ServerMetrics: Sendable {
    /// The registry, emitted as Prometheus text.
    public let registry = PrometheusCollectorRegistry()
    private let ingestLatency: DurationHistogram
    private let commitBatchSize: ValueHistogram
    private let commitDuration: DurationHistogram
    private let counters = Mutex<[String: Counter]>([:])
    /// Request counters by their labels, found without building strings on every request.
    private let requestCounters = Mutex<[RequestLabels: Counter]>([:])
    private struct RequestLabels: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    private let pendingWrites: Gauge
    private let clusterNodes: Gauge
    private let oldestUncommitted: Gauge
    private let droppedLogLines: Gauge

    public init() {
        ingestLatency = registry.makeDurationHistogram(
            descriptor: Self.name("ingest_duration", "seconds", help: "Time from request to answer for webhook posts"),
            buckets: [
                .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
            ])
        commitBatchSize = registry.makeValueHistogram(
            descriptor: Self.name("commit_batch", "size", help: "Writes committed in one transaction"),
            buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000])
        commitDuration = registry.makeDurationHistogram(
            descriptor: Self.name("commit_duration", "seconds", help: "Time to commit one transaction (fsync included)"),
            buckets: [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(500),
            ])
        pendingWrites = registry.makeGauge(descriptor: Self.name("pending", "writes", help: "Writes queued for the next commit"))
        clusterNodes = registry.makeGauge(descriptor: Self.name("cluster", "nodes", help: "Live nodes sharing the storage (1 with SQLite)"))
        oldestUncommitted = registry.makeGauge(
            descriptor: Self.name("oldest_uncommitted", "seconds", help: "Age of the oldest write not yet committed (0 when none)"))
        droppedLogLines = registry.makeGauge(
            descriptor: Self.name("log_lines_dropped", "total", help: "Log lines that could not be written (full disk, closed output)"))
    }

    /// Sets the write backlog gauges (read at scrape time).
    /// The live nodes sharing the storage.
    func recordNodes(_ count: Int) { clusterNodes.set(to: Double(count)) }

    func recordBacklog(_ backlog: (count: Int, oldestAge: Duration?)) {
        pendingWrites.set(to: Double(backlog.count))
        let age = backlog.oldestAge.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0
        oldestUncommitted.set(to: age)
    }

    /// Counts one answered request.
    func recordRequest(route: String, method: String, status: Int) {
        let labels = RequestLabels(route: route, method: method, status: status)
        let requests = requestCounters.withLock { counters in
            if let existing = counters[labels] { return existing }
            let created = counter(
                Self.name("http_requests", "total", help: "HTTP requests by route, method and status"),
                labels: [("route", route), ("method", method), ("status", String(status))])
            counters[labels] = created
            return created
        }
        requests.increment()
    }

    /// Records how long a webhook post took.
    func recordIngest(duration: Duration) { ingestLatency.record(duration) }

    /// Counts a refused webhook post by its reason (`rate_limited`, `invalid_json`, …).
    func recordRejection(reason: String) {
        counter(Self.name("rejections", "total", help: "Refused webhook posts by reason"), labels: [("reason", reason)]).increment()
    }

    /// Counts a failed pass of a service that retries (`folder`, `retention`, `checkpointer`).
    func recordServiceError(service: String) {
        counter(
            Self.name("service_errors", "total", help: "Failed passes of background services (each retried with backoff)"),
            labels: [("service", service)]
        ).increment()
    }

    /// Counts events kept out of their session because folding them failed.
    func recordFoldFailures(_ events: Int) {
        counter(
            Self.name("fold_failures", "total", help: "Events left out of their session because folding them failed"),
            labels: []
        ).increment(by: Int64(events))
    }

    /// Counts log lines that could not be written (a full disk, a closed output).
    func recordDroppedLogLines(_ lines: Int) {
        droppedLogLines.set(to: Double(lines))
    }

    /// What the store reports, wired to these metrics.
    var storeMonitor: StoreMonitor {
        StoreMonitor(
            commit: { [self] size, duration in recordCommit(batchSize: size, duration: duration) },
            serviceError: { [self] in recordServiceError(service: $0) },
            foldFailures: { [self] in recordFoldFailures($0) })
    }

    /// Records one group commit.
    func recordCommit(batchSize: Int, duration: Duration) {
        commitBatchSize.record(Double(batchSize))
        commitDuration.record(duration)
    }

    /// The metrics in Prometheus text format.
    func render() -> [UInt8] { registry.emitToBuffer() }

    /// `emilia_<metric>_<unit>`.
    private static func name(_ metric: String, _ unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "emilia", metricName: metric, unitName: unit, helpText: help)
    }

    private func counter(_ descriptor: MetricNameDescriptor, labels: [(String, String)]) -> Counter {
        let key = descriptor.name + labels.map { "|\($0.1)" }.joined()
        return counters.withLock { counters in
            if let existing = counters[key] { return existing }
            let created = registry.makeCounter(descriptor: descriptor, labels: labels)
            counters[key] = created
            return created
        }
    }
}
