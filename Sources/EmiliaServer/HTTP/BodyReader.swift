import Hummingbird
import NIOCore

/// Reads a request body with a size limit and a memory budget, never buffering past either. The deadline is
/// `BodyDeadlineHandler`'s.
enum BodyReader {
    enum Outcome: Sendable {
        case complete(ByteBuffer)
        case tooLarge
        case overBudget
        case timedOut
    }

    /// Reads the whole body; every chunk is charged to `reservation` (beyond what it already holds) before it is kept.
    static func read(_ body: RequestBody, limit: Int, reservation: ByteBudget.Reservation, reserved: Int) async throws -> Outcome {
        var collected = ByteBuffer()
        do {
            for try await chunk in body {
                let size = collected.readableBytes + chunk.readableBytes
                if size > limit { return .tooLarge }
                if size > reserved, !reservation.grow(by: size - max(reserved, collected.readableBytes)) { return .overBudget }
                var chunk = chunk
                collected.writeBuffer(&chunk)
            }
        } catch is BodyDeadlineHandler.BodyTimedOut {
            return .timedOut
        }
        return .complete(collected)
    }
}
