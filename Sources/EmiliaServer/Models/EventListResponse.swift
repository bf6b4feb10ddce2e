import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird

struct EventListResponse: ResponseEncodable {
    let events: [EventResponse]
    let nextCursor: String?
    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
    }
}
