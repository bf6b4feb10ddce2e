import Synchronization

/// Tasks suspended until some progress (a generation, a fold cursor) reaches their target, or their time is up:
/// what a stream waiting for appends and a read waiting for the fold both need.
///
/// No wake-up is lost: a waiter is registered before it checks whether its target is already reached, so progress
/// made after the check resumes it, and progress made before is seen by the check.
package final class ProgressWaiters: Sendable {
    private struct Waiter {
        var target: Int64
        var continuation: CheckedContinuation<Void, Never>?
        /// Resumed (or timed out) before it suspended: it must not suspend.
        var released = false
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// True when no task waits.
    package var isEmpty: Bool { state.withLock { $0.waiters.isEmpty } }

    /// Returns once `resume(upTo:)` reaches `target` (or `resumeAll()` runs), after `timeout`, or when the task is
    /// cancelled; at once when `isReached` already says so.
    package func wait(for target: Int64, timeout: Duration, isReached: () -> Bool) async {
        let id = state.withLock { state in
            state.next &+= 1
            state.waiters[state.next] = Waiter(target: target)
            return state.next
        }
        if isReached() {
            _ = state.withLock { $0.waiters.removeValue(forKey: id) }
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspend(id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.release(id)
            }
            await group.next()
            group.cancelAll()
            self.release(id)
        }
    }

    /// Resumes every task whose target is `value` or less.
    package func resume(upTo value: Int64) { resume { $0.target <= value } }

    /// Resumes every waiting task (the progress will not move again).
    package func resumeAll() { resume { _ in true } }

    private func resume(where isDue: (Waiter) -> Bool) {
        let ready = state.withLock { state in
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters where isDue(waiter) {
                if let continuation = waiter.continuation {
                    ready.append(continuation)
                    state.waiters[id] = nil
                } else {
                    state.waiters[id]?.released = true
                }
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    private func suspend(_ id: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waits = state.withLock { state in
                guard let waiter = state.waiters[id], !waiter.released else {
                    state.waiters[id] = nil
                    return false
                }
                state.waiters[id]?.continuation = continuation
                return true
            }
            if !waits { continuation.resume() }
        }
    }

    private func release(_ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiters[id] else { return nil }
            guard let continuation = waiter.continuation else {
                state.waiters[id]?.released = true
                return nil
            }
            state.waiters[id] = nil
            return continuation
        }
        continuation?.resume()
    }
}
