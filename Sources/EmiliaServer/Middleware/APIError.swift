import EmiliaIngest
import EmiliaModel
import EmiliaStore
import Foundation
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
        let body = try Self.encoder.encode(ErrorBody(detail: detail, hint: hint))
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static let encoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }()

    static func storageUnavailable() -> APIError { APIError(IngestRefusal.storageUnavailable) }

    /// The one place request errors become statuses.
    init(_ error: RequestError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .notFound: .notFound
            case .staleForm: .forbidden
            case .methodNotAllowed: .methodNotAllowed
            default: .badRequest  // invalid_parameter
            }
        self.init(status, error.detail, headers: error.headers)
    }

    /// The one place webhook refusals become statuses.
    init(_ refusal: IngestRefusal) {
        var headers: HTTPFields = [:]
        if let wait = refusal.retryAfter { headers[.retryAfter] = String(wait) }
        // The rest of a body that timed out can no longer be told apart from a next request.
        if refusal.reason == .timeout { headers[.connection] = "close" }
        self.init(Self.status(for: refusal.reason), refusal.detail, hint: refusal.hint, headers: headers)
    }

    static func status(for reason: IngestRefusal.Reason) -> HTTPResponse.Status {
        switch reason {
        case .invalidToken: .unauthorized
        case .unknownTokenRateLimited, .rateLimited: .tooManyRequests
        case .tooLarge: .contentTooLarge
        case .unsupportedEncoding: .unsupportedMediaType
        case .overBudget, .storageUnavailable: .serviceUnavailable
        case .timeout: .requestTimeout
        default: .badRequest  // unknown_env, invalid_gzip, invalid_json
        }
    }

    /// The one place store errors become statuses.
    static func from(_ error: StoreError) -> APIError {
        switch error.code {
        case .notFound: return APIError(.notFound, error.message)
        case .invalidInput: return APIError(.badRequest, error.message)
        default: return storageUnavailable()
        }
    }
}

/// Every error answer's body: `{"detail": …, "hint": …}`, the hint left out when there is none.
struct ErrorBody: Codable {
    var detail: String
    var hint: String?
}
