import EmiliaModel
import EmiliaStore
import Hummingbird

struct RejectionResponse: Encodable {
    let at: String
    let env: String?
    let status: Int
    let reason: String
    let requestID: String?
    let bodyPreview: String?
    /// How many refusals this record stands for (a flood past the detailed allowance is kept as counts).
    let count: Int

    init(_ rejection: Rejection) {
        count = rejection.count
        at = Timestamp.formatUTC(rejection.at)
        env = rejection.environment?.rawValue
        status = rejection.status
        reason = rejection.reason
        requestID = rejection.requestID
        bodyPreview = rejection.bodyPrefix.map { String(decoding: $0, as: UTF8.self) }
    }

    enum CodingKeys: String, CodingKey {
        case at, env, status, reason, count
        case requestID = "request_id"
        case bodyPreview = "body_preview"
    }
}

struct RejectionListResponse: ResponseEncodable {
    let rejections: [RejectionResponse]
}
