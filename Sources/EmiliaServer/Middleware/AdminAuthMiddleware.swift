import Hummingbird

/// Guards `/api/v1`: `Authorization: Bearer <admin key>`, compared in constant time; else 401.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = EmiliaRequestContext
    let adminKey: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7, header.lowercased().hasPrefix("bearer "),
            Self.constantTimeEquals(String(header.dropFirst(7)), adminKey)
        else {
            throw APIError(
                .unauthorized, "Admin key required", hint: "send Authorization: Bearer <admin key>",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }

    /// Compares without an early exit, so timing does not reveal how much of the key matched.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            difference |= (index < left.count ? left[index] : 0) ^ (index < right.count ? right[index] : 0)
        }
        return difference == 0
    }
}
