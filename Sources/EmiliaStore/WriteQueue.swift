package import EmiliaModel
import Foundation
import ServiceLifecycle
import Synchronization

/// The queue in front of a backend's group-commit writer: appends wait in it for their commit, rejection records
/// ride along without waiting. The writer takes everything queued as one batch, commits it in one transaction, then
/// answers every append of the batch at once.
package final class WriteQueue: Sendable {
    /// One queued write.
    package enum Item: Sendable {
        case event(IncomingEvent, CheckedContinuation<AppendReceipt, any Error>)
        case rejection(Rejection)
    }

    private struct State: ~Copyable {
        var pending: [Item] = []
        /// Rejection records among `pending`: they have a small cap of their own, so a flood of refusals never takes
        /// the room events need.
        var pendingRejections = 0
        var isClosed = false
        var lastCommitFailed = false
        /// When the oldest write still waiting for a commit was queued.
        var oldestPendingSince: ContinuousClock.Instant?
    }

    /// How many rejection records may wait for a commit; more are dropped (they still count in the metrics).
    package static let maximumPendingRejections = 1_000

    private let maximumPending: Int
    private let state = Mutex(State())
    /// Yields when something was queued; ends on graceful shutdown (`serve`).
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    package init(maximumPending: Int) {
        self.maximumPending = maximumPending
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// How many writes wait for a commit, and for how long the oldest has.
    package var backlog: (count: Int, oldestAge: Duration?) {
        state.withLock { state in (state.pending.count, state.oldestPendingSince.map { ContinuousClock.now - $0 }) }
    }

    /// True when the most recent commit failed (health reports storage down until a write succeeds).
    package var lastCommitFailed: Bool {
        get { state.withLock { $0.lastCommitFailed } }
        set { state.withLock { $0.lastCommitFailed = newValue } }
    }

    /// Queues the event and waits for the writer to answer it; refused at once when full or closed.
    package func append(_ event: IncomingEvent) async throws -> AppendReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let refusal: StoreError? = state.withLock { state in
                if state.isClosed { return StoreError(.unavailable, "the writer is shut down") }
                if state.pending.count - state.pendingRejections >= maximumPending {
                    return StoreError(.unavailable, "the write queue is full")
                }
                if state.pending.isEmpty { state.oldestPendingSince = ContinuousClock.now }
                state.pending.append(.event(event, continuation))
                return nil
            }
            if let refusal { continuation.resume(throwing: refusal) } else { wakeUp.yield() }
        }
    }

    /// Queues a rejection record without waiting; dropped when the queue is full or closed.
    package func record(_ rejection: Rejection) {
        let queued = state.withLock { state in
            guard !state.isClosed, state.pendingRejections < Self.maximumPendingRejections else { return false }
            if state.pending.isEmpty { state.oldestPendingSince = ContinuousClock.now }
            state.pending.append(.rejection(rejection))
            state.pendingRejections += 1
            return true
        }
        if queued { wakeUp.yield() }
    }

    /// Ends `wakeUps` (graceful shutdown): the writer then drains what is left.
    private func finishWakeUps() { wakeUp.finish() }

    /// Refuses new writes from now on.
    private func close() { state.withLock { $0.isClosed = true } }

    /// The oldest writes, in order, up to `maximumEvents` events and about `maximumBytes` of bodies (at least one
    /// event; rejections ride along); the rest stay queued.
    package func take(maximumEvents: Int, maximumBytes: Int = .max) -> [Item] {
        state.withLock { state -> [Item] in
            var events = 0
            var bytes = 0
            var end = 0
            var rejections = 0
            while end < state.pending.count {
                if case .event(let event, _) = state.pending[end] {
                    if events == maximumEvents || (events > 0 && bytes + event.body.count > maximumBytes) { break }
                    events += 1
                    bytes += event.body.count
                } else {
                    rejections += 1
                }
                end += 1
            }
            let taken = Array(state.pending[..<end])
            state.pending.removeFirst(end)
            state.pendingRejections -= rejections
            state.oldestPendingSince = state.pending.isEmpty ? nil : ContinuousClock.now
            return taken
        }
    }

    /// Everything queued, in order, leaving the queue empty.
    package func takeAll() -> [Item] {
        state.withLock { state -> [Item] in
            defer {
                state.pending.removeAll(keepingCapacity: true)
                state.pendingRejections = 0
                state.oldestPendingSince = nil
            }
            return state.pending
        }
    }
}

/// A batch taken from the queue, split for the commit: events in order, and the rejection records.
package struct WriteBatch: Sendable {
    package var items: [WriteQueue.Item]
    package var events: [IncomingEvent] = []
    package var rejections: [Rejection] = []

    package init(_ items: [WriteQueue.Item]) {
        self.items = items
        for item in items {
            switch item {
            case .event(let event, _): events.append(event)
            case .rejection(let rejection): rejections.append(rejection)
            }
        }
    }

    /// Answers every append of the batch: `receipts` in the order of `events`, or the commit's error for all.
    package func answer(_ outcome: Result<[AppendReceipt], StoreError>) {
        var index = 0
        for item in items {
            guard case .event(_, let continuation) = item else { continue }
            switch outcome {
            case .success(let receipts): continuation.resume(returning: receipts[index])
            case .failure(let error): continuation.resume(throwing: error)
            }
            index += 1
        }
    }
}

extension WriteQueue {
    /// A writer's loop: `commitPending` on every wake-up until graceful shutdown; then the queue refuses new writes
    /// and what is queued is committed. The identifiers keep rising across commits.
    package func serve(_ commitPending: (inout TimeOrderedIdentifierGenerator) async -> Void) async {
        var identifiers = TimeOrderedIdentifierGenerator()
        await withGracefulShutdownHandler {
            for await _ in wakeUps {
                await commitPending(&identifiers)
            }
        } onGracefulShutdown: { [self] in
            finishWakeUps()
        }
        close()
        await commitPending(&identifiers)
    }
}
