import Hummingbird
import NIOCore

/// Reads a request body with a size limit, never buffering past it. The deadline is `BodyDeadlineHandler`'s.
enum BodyReader {
    enum Outcome: Sendable {
        case complete(ByteBuffer)
        case tooLarge
        case timedOut
    }

    static func read(_ body: RequestBody, limit: Int) async throws -> Outcome {
        var collected = ByteBuffer()
        do {
            for try await chunk in body {
                if collected.readableBytes + chunk.readableBytes > limit { return .tooLarge }
                var chunk = chunk
                collected.writeBuffer(&chunk)
            }
        } catch is BodyDeadlineHandler.BodyTimedOut {
            return .timedOut
        }
        return .complete(collected)
    }
}
