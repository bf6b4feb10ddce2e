import Hummingbird
import NIOCore

/// Reads a request body with a size limit (never buffering past it) and a deadline.
enum BodyReader {
    enum Outcome: Sendable {
        case complete(ByteBuffer)
        case tooLarge
        case timedOut
    }

    static func read(_ body: RequestBody, limit: Int, timeout: Duration) async throws -> Outcome {
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                var collected = ByteBuffer()
                for try await chunk in body {
                    if collected.readableBytes + chunk.readableBytes > limit { return .tooLarge }
                    var chunk = chunk
                    collected.writeBuffer(&chunk)
                }
                return .complete(collected)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return .timedOut
            }
            defer { group.cancelAll() }
            return try await group.next() ?? .timedOut
        }
    }
}
