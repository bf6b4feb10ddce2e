import HTTPTypes
import Hummingbird
import Logging

/// Gives every request its id: the sender's `X-Request-ID` when it is acceptable, else a new UUID. Every log line
/// of the request carries it, and the answer echoes it.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = EmiliaRequestContext

    static let header = HTTPField.Name("X-Request-ID")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let sent = request.headers[Self.header], Self.isAcceptable(sent) {
            context.requestID = sent
            context.requestIDWasSent = true
        } else {
            context.requestID = Self.makeRequestID()
        }
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response = try await next(request, context)
        response.headers[Self.header] = context.requestID
        return response
    }

    /// A random version-4 UUID in lowercase, spelled straight into bytes.
    static func makeRequestID() -> String {
        var random = SystemRandomNumberGenerator()
        let high = (random.next() as UInt64) & ~(0xF << 12) | (0x4 << 12)  // version 4
        let low = (random.next() as UInt64) & ~(0x3 << 62) | (0x2 << 62)  // RFC 4122 variant
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[index] = UInt8(ascii: "-")
                    index += 1
                }
                let word = nibble < 16 ? high : low
                buffer[index] = digits[Int((word >> (60 - 4 * UInt64(nibble % 16))) & 0xF)]
                index += 1
            }
            return index
        }
    }

    /// Up to 200 visible ASCII characters: anything else is replaced by a generated id.
    static func isAcceptable(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 200 && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
