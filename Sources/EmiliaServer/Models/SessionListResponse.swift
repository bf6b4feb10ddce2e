public import EmiliaModel
import EmiliaStore
import Foundation
public import Hummingbird

struct SessionListResponse: ResponseEncodable {
    let sessions: [TableSession]
}

extension TableSession: ResponseEncodable {}
