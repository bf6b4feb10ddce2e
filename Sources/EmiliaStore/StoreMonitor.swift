import Foundation

/// Observes commits, for metrics: how many writes went into one transaction and how long it took.
public typealias CommitObserver = @Sendable (_ batchSize: Int, _ duration: Duration) -> Void

/// What the store and its services report for `/metrics`: commits, errors a service survived, events that could
/// not be folded into their session.
public struct StoreMonitor: Sendable {
    public var commit: CommitObserver
    /// A service (`"folder"`, `"retention"`, `"checkpointer"`) failed a pass and will retry.
    public var serviceError: @Sendable (_ service: String) -> Void
    /// Events kept out of their sessions because folding their order failed (recorded with the reason).
    public var foldFailures: @Sendable (_ events: Int) -> Void

    public init(
        commit: @escaping CommitObserver = { _, _ in }, serviceError: @escaping @Sendable (String) -> Void = { _ in },
        foldFailures: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.commit = commit
        self.serviceError = serviceError
        self.foldFailures = foldFailures
    }
}
