package import EmiliaModel
package import Foundation

/// A session's identity, with the zone its days are counted in.
package struct SessionKey: Hashable, Sendable {
    package var tokenID: String
    package var environment: String
    package var orderID: String
    package var timeZone: String

    package init(tokenID: String, environment: String, orderID: String, timeZone: String) {
        self.tokenID = tokenID
        self.environment = environment
        self.orderID = orderID
        self.timeZone = timeZone
    }
}

/// How every backend stores a session: its fold accumulator (`SessionAccumulator.storageText`), so a new event costs
/// one read and one write of its own order's row; reads turn the accumulator into the session.
package enum SessionState {
    /// The facts of a stored event, or nil when it is not part of a session.
    package static func facts(eventID: String, receivedAt: Date, body: Data, timeZone: TimeZone) -> SessionFacts? {
        guard let document = try? JSONParser.parse(body) else { return nil }
        return SessionFacts(eventID: eventID, receivedAt: receivedAt, document: document, timeZone: timeZone)
    }

    /// The session a stored accumulator folds to.
    package static func decode(_ state: Data) throws -> TableSession {
        guard let accumulator = SessionAccumulator(storageText: state) else {
            throw StoreError(.unavailable, "a stored session could not be read")
        }
        return accumulator.session
    }

    /// The columns a session row keeps beside its state, for the day index and listings.
    package struct Columns: Sendable {
        package var localDate: String?
        package var tableNumber: String?
        package var status: String
        package var openedAt: Double?
        package var closedAt: Double?
        package var state: Data

        package init(_ accumulator: SessionAccumulator, timeZone: TimeZone) {
            let session = accumulator.session
            localDate = (session.openedAt ?? session.closedAt).map { LocalDay.of($0, in: timeZone) }
            tableNumber = session.tableNumber
            status = session.status.rawValue
            openedAt = session.openedAt?.timeIntervalSince1970
            closedAt = session.closedAt?.timeIntervalSince1970
            state = Data(accumulator.storageText.utf8)
        }
    }
}
