public import EmiliaModel
public import EmiliaStore
public import Foundation
public import Hummingbird

/// An error answered to a client: a status, a `detail` sentence, an optional `hint`, extra headers.
///
/// Every error body Emilia sends is `{"detail": "...", "hint": "..."}` JSON; internal error text never leaks.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var detail: String
    public var hint: String?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ detail: String, hint: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.hint = hint
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body = "{\"detail\":\(JSONText.quoted(detail))"
        if let hint { body += ",\"hint\":\(JSONText.quoted(hint))" }
        body += "}"
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static let invalidToken = "Invalid or inactive webhook token"

    static func storageUnavailable() -> APIError {
        APIError(.serviceUnavailable, "Storage unavailable, retry later", headers: [.retryAfter: "5"])
    }

    /// The one place store errors become statuses.
    static func from(_ error: StoreError) -> APIError {
        switch error.code {
        case .unavailable: return storageUnavailable()
        case .notFound: return APIError(.notFound, error.message)
        case .invalidInput: return APIError(.badRequest, error.message)
        }
    }
}
