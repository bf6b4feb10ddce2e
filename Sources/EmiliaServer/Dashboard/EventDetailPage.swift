import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird

/// `/events/{id}`: the raw payload pretty-printed, its warnings explained, the session it belongs to.
struct EventDetailPage: Sendable {
    let store: any EventStore
    let auth: DashboardAuth

    func render(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let event = try await store.event(id: id), let body = try await store.rawBody(eventID: id) else {
            throw RequestError.notFound("No event with id \(id)")
        }
        let token = try await store.token(id: event.tokenID)
        let pretty = PrettyJSON.page(body)
        let warnings = event.warnings.map { warning -> String in
            """
            <tr><td><code>\(warning.code.rawValue)</code></td><td><code>\(HTML.escape(warning.field))</code></td>
            <td>\(HTML.escape(warning.message))<br><span class="muted">\(HTML.escape(warning.code.remedy))</span></td></tr>
            """
        }.joined()
        var sessionHTML = "<p class=\"muted\">Not part of a table session (no order_id, a test, or an unknown event).</p>"
        if let orderID = event.orderID, !event.isTest,
            let session = try await store.session(tokenID: event.tokenID, environment: event.environment, orderID: orderID)
        {
            let day = session.openedAt.map { LocalDay.of($0, in: TimeZone(identifier: token?.timeZone ?? "UTC") ?? .gmt) } ?? ""
            sessionHTML = """
                <p data-session="\(HTML.escape(session.orderID.text))">Order <strong>\(HTML.escape(session.orderID.text))</strong> on
                \(HTML.escape(session.tableNumber ?? "no table")) — <span class="badge \(session.status.rawValue)">\(session.status.rawValue)</span>,
                \(HTML.duration(session.durationSeconds)), \(session.items.count) item lines, total \(session.revenue),
                \(session.eventIDs.count) events. <a href="/restaurants/\(event.tokenID)?env=\(event.environment.rawValue)&date=\(day)">See the day</a></p>
                """
        }
        let page = """
            <h1>Event <code>\(event.id)</code></h1>
            <div class="card"><table><tbody>
            <tr><th>Restaurant</th><td>\(HTML.escape(token?.name ?? event.tokenID))</td></tr>
            <tr><th>Environment</th><td><span class="badge \(event.environment == .dev ? "warn" : "active")">\(event.environment.rawValue)</span></td></tr>
            <tr><th>Event</th><td>\(HTML.escape(event.eventType))\(event.isTest ? " (test: kept out of analytics)" : "")</td></tr>
            <tr><th>Received (UTC)</th><td>\(Timestamp.formatUTC(event.receivedAt))</td></tr>
            <tr><th>Request id</th><td><code>\(HTML.escape(event.requestID ?? "—"))</code></td></tr>
            <tr><th>Size</th><td>\(event.bodySize) bytes, Content-Type \(HTML.escape(event.contentType ?? "none"))\(event.contentEncoding.map { ", sent with Content-Encoding \(HTML.escape($0))" } ?? "")</td></tr>
            </tbody></table></div>
            <h2>Warnings</h2><div class="card"><table data-table="event-warnings"><thead><tr><th>Code</th><th>Field</th><th>What and how to fix</th></tr></thead>
            <tbody>\(warnings.isEmpty ? "<tr><td colspan=\"3\" class=\"muted\">No warnings.</td></tr>" : warnings)</tbody></table></div>
            <h2>Session</h2><div class="card">\(sessionHTML)</div>
            <h2>Payload, as received</h2><pre data-payload>\(HTML.escape(pretty))</pre>
            """
        return HTML.page(title: "Event", body: page, csrf: auth.csrfToken(for: context.dashboardSession ?? ""))
    }
}

/// Indented JSON text, keys in the order they were sent and numbers as written, cut at `limit` bytes so a
/// crafted payload costs the page no more than that.
enum PrettyJSON {
    /// The most text the event page shows; past it the page links to the raw bytes.
    static let limit = 256 * 1024

    /// What the event page shows for a stored body.
    static func page(_ body: Data) -> String {
        guard body.count <= 4 * limit, let value = try? JSONParser.parse(body) else {
            let shown = String(decoding: body.prefix(limit), as: UTF8.self)
            return body.count > limit ? shown + "\n… (\(body.count) bytes: download the raw payload for the rest)" : shown
        }
        let (text, complete) = format(value, limit: limit)
        return complete ? text : text + "\n… (cut at \(limit / 1024) KiB: download the raw payload for the rest)"
    }

    /// The indented text, and false when it was cut at `limit` bytes.
    static func format(_ value: JSONValue, limit: Int = PrettyJSON.limit) -> (text: String, complete: Bool) {
        var output: [UInt8] = []
        let complete = write(value, depth: 0, into: &output, limit: limit)
        return (String(decoding: output, as: UTF8.self), complete)
    }

    private static func write(_ value: JSONValue, depth: Int, into output: inout [UInt8], limit: Int) -> Bool {
        guard output.count < limit else { return false }
        func newline(_ depth: Int) {
            output.append(UInt8(ascii: "\n"))
            output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
        }
        switch value {
        case .array(let elements) where !elements.isEmpty:
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                guard write(element, depth: depth + 1, into: &output, limit: limit) else { return false }
            }
            newline(depth)
            output.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                JSONText.appendQuoted(member.key, to: &output)
                output.append(contentsOf: ": ".utf8)
                guard write(member.value, depth: depth + 1, into: &output, limit: limit) else { return false }
            }
            newline(depth)
            output.append(UInt8(ascii: "}"))
        default:
            value.write(into: &output)
        }
        return output.count <= limit
    }
}
