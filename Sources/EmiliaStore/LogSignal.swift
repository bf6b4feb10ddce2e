import Synchronization

/// Tells readers that the log grew, so a stream waits for appends instead of polling. The generation moves on
/// every signal: read it before reading the log, then wait for it to move past what was read.
package final class LogSignal: Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<Void, Never>?
        /// Woken (or timed out) before it suspended: it must not suspend.
        var released = false
    }

    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    package init() {}

    package var generation: UInt64 { state.withLock { $0.generation } }

    /// Events were appended: wakes every waiting reader.
    package func notify() {
        let ready = state.withLock { state in
            state.generation &+= 1
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters {
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

    /// Returns once the generation moved past `seen`, after `timeout`, or when the task is cancelled.
    package func wait(after seen: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64? in
            guard state.generation == seen else { return nil }
            state.nextWaiter &+= 1
            state.waiters[state.nextWaiter] = Waiter()
            return state.nextWaiter
        }
        guard let id else { return }
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
