import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird

/// The query parameters the read API shares: a known token, an env, a local day.
struct ReadScope: Sendable {
    let token: TokenRecord
    let environment: DeploymentEnvironment
    let timeZone: TimeZone

    /// Reads `token_id` (required, must exist; the dashboard passes it from its path) and `env` (prod by default).
    static func from(_ request: Request, store: any EventStore, tokenID pathTokenID: String? = nil) async throws -> ReadScope {
        let query = request.uri.queryParameters
        guard let tokenID = pathTokenID ?? query.get("token_id"), !tokenID.isEmpty else {
            throw RequestError.invalidParameter("token_id is required")
        }
        guard let token = try await store.token(id: tokenID) else { throw RequestError.notFound("No token with id \(tokenID)") }
        var environment = DeploymentEnvironment.prod
        if let value = query.get("env") {
            guard let parsed = DeploymentEnvironment(queryValue: value) else {
                throw RequestError.invalidParameter("Unknown env '\(value)': use 'dev' or 'prod'")
            }
            environment = parsed
        }
        return ReadScope(token: token, environment: environment, timeZone: TimeZone(identifier: token.timeZone) ?? .gmt)
    }

    /// `date` as the restaurant's local day (today there by default), with its UTC bounds.
    func day(_ request: Request, now: Date = Date()) throws -> (date: String, start: Date, end: Date) {
        let date = request.uri.queryParameters.get("date") ?? LocalDay.of(now, in: timeZone)
        guard let bounds = LocalDay.bounds(of: date, in: timeZone) else {
            throw RequestError.invalidParameter("date must be YYYY-MM-DD, got '\(date)'")
        }
        return (date, bounds.start, bounds.end)
    }

    /// The event filters of `/api/v1/events` and `/api/v1/export`.
    func eventQuery(_ request: Request, defaultLimit: Int) throws -> EventQuery {
        let query = request.uri.queryParameters
        func time(_ name: String) throws -> Date? {
            guard let text = query.get(name) else { return nil }
            guard let stamp = Timestamp(text) else {
                throw RequestError.invalidParameter("\(name) must be an RFC 3339 time, got '\(text)'")
            }
            return stamp.instant(in: timeZone)
        }
        var hasWarnings: Bool?
        if let flag = query.get("has_warnings") {
            guard let parsed = Bool(flag.lowercased()) else { throw RequestError.invalidParameter("has_warnings must be true or false") }
            hasWarnings = parsed
        }
        var cursor: String?
        if let text = query.get("cursor") {
            guard let decoded = EventCursor.decode(text) else { throw RequestError.invalidParameter("cursor is not one this API gave out") }
            cursor = decoded
        }
        var limit = defaultLimit
        if let text = query.get("limit") {
            guard let parsed = Int(text), (1...1000).contains(parsed) else {
                throw RequestError.invalidParameter("limit must be 1 to 1000")
            }
            limit = parsed
        }
        return EventQuery(
            tokenID: token.id, environment: environment, eventType: query.get("event"),
            tableNumber: query.get("table"), orderID: query.get("order_id"), hasWarnings: hasWarnings,
            since: try time("since"), until: try time("until"), limit: limit, cursor: cursor)
    }
}
