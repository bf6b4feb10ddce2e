import EmiliaModel
import EmiliaStore
import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle

/// The read API under `/api/v1`: sessions, analytics, the event log, exports and the live stream.
struct ReadAPIController: Sendable {
    let store: any EventStore

    func addRoutes(to group: some RouterMethods<EmiliaRequestContext>) {
        group.get("sessions", use: listSessions)
        group.get("sessions/:order_id", use: showSession)
        group.get("analytics", use: analytics)
        group.get("events", use: listEvents)
        group.get("export", use: export)
        group.get("stream", use: stream)
    }

    @Sendable func listSessions(_ request: Request, context: EmiliaRequestContext) async throws -> SessionListResponse {
        let scope = try await ReadScope.from(request, store: store)
        let day = try scope.day(request)
        return SessionListResponse(
            sessions: try await store.sessions(tokenID: scope.token.id, environment: scope.environment, localDate: day.date))
    }

    @Sendable func showSession(_ request: Request, context: EmiliaRequestContext) async throws -> TableSession {
        let scope = try await ReadScope.from(request, store: store)
        let orderID = try context.parameters.require("order_id")
        guard let session = try await store.session(tokenID: scope.token.id, environment: scope.environment, orderID: orderID) else {
            throw RequestError.notFound("No session for order \(orderID) in \(scope.environment.rawValue)")
        }
        return session
    }

    @Sendable func analytics(_ request: Request, context: EmiliaRequestContext) async throws -> AnalyticsResponse {
        let scope = try await ReadScope.from(request, store: store)
        let day = try scope.day(request)
        async let sessions = store.sessions(tokenID: scope.token.id, environment: scope.environment, localDate: day.date)
        async let quality = store.dataQuality(tokenID: scope.token.id, environment: scope.environment, from: day.start, to: day.end)
        return AnalyticsResponse(
            tokenID: scope.token.id, env: scope.environment, date: day.date, timezone: scope.token.timeZone,
            analytics: DayAnalytics(sessions: try await sessions, timeZone: scope.timeZone),
            quality: try await quality)
    }

    @Sendable func listEvents(_ request: Request, context: EmiliaRequestContext) async throws -> EventListResponse {
        let scope = try await ReadScope.from(request, store: store)
        let page = try await store.events(try scope.eventQuery(request, defaultLimit: 100))
        return EventListResponse(events: page.events.map(EventResponse.init), nextCursor: page.nextCursor.map(EventCursor.encode))
    }

    /// NDJSON (default) or CSV of every matching event, oldest first, written page by page (never held whole).
    @Sendable func export(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let scope = try await ReadScope.from(request, store: store)
        var query = try scope.eventQuery(request, defaultLimit: 500)
        query.isOldestFirst = true
        query.includesBodies = true
        let format = request.uri.queryParameters.get("format") ?? "ndjson"
        guard format == "ndjson" || format == "csv" else { throw RequestError.invalidParameter("format must be ndjson or csv") }
        let store = self.store
        let firstPage = query
        let body = ResponseBody { writer in
            if format == "csv" { try await writer.write(ByteBuffer(string: ExportFormat.csvHeader)) }
            var page = firstPage
            while true {
                let result = try await store.events(page)
                var buffer = ByteBuffer()
                for event in result.events {
                    if format == "csv" {
                        ExportFormat.writeCSVLine(event, into: &buffer)
                    } else {
                        ExportFormat.writeNDJSONLine(event, into: &buffer)
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
                guard let next = result.nextCursor else { break }
                page.cursor = next
            }
            try await writer.finish(nil)
        }
        let contentType = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson"
        return Response(
            status: .ok,
            headers: [
                .contentType: contentType,
                .contentDisposition: "attachment; filename=\"emilia-events.\(format)\"",
            ], body: body)
    }

    /// Server-Sent Events: every committed event of the token and env, within a second, resumable by id.
    @Sendable func stream(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let scope = try await ReadScope.from(request, store: store)
        var query = EventQuery(tokenID: scope.token.id, environment: scope.environment, limit: 500, isOldestFirst: true)
        let resumeFrom = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters.get("cursor")
        if let resumeFrom {
            guard let id = EventCursor.decode(resumeFrom) else {
                throw RequestError.invalidParameter("cursor is not one this API gave out")
            }
            query.cursor = id
        } else {
            // Only what comes next: start after the newest event there is now.
            query.cursor = try await store.events(EventQuery(tokenID: scope.token.id, environment: scope.environment, limit: 1)).events
                .first?.position
        }
        let store = self.store
        let startQuery = query
        let body = ResponseBody { writer in
            var query = startQuery
            var lastWrite = ContinuousClock.now
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                // Read before the page: an append committed while it is read still wakes the wait below.
                let generation = store.appendGeneration
                let page = try await store.events(query)
                if !page.events.isEmpty {
                    var buffer = ByteBuffer()
                    for event in page.events {
                        buffer.writeString(
                            "id: \(EventCursor.encode(event.position))\nevent: event\ndata: \(ExportFormat.streamData(event))\n\n")
                    }
                    try await writer.write(buffer)
                    query.cursor = page.events.last?.position
                    lastWrite = ContinuousClock.now
                    if page.nextCursor != nil { continue }
                } else if ContinuousClock.now - lastWrite >= .seconds(15) {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    lastWrite = ContinuousClock.now
                }
                // An idle subscriber costs nothing until an append (on any node) or the next keep-alive.
                let untilKeepAlive = .seconds(15) - (ContinuousClock.now - lastWrite)
                await cancelWhenGracefulShutdown { await store.waitForAppends(after: generation, timeout: untilKeepAlive) }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

/// How exported and streamed events are written: `EventResponse`'s fields, then (in an export) the original `payload`.
enum ExportFormat {
    static let csvHeader = (EventResponse.CodingKeys.allCases.map(\.rawValue) + ["payload"]).joined(separator: ",") + "\n"

    /// One NDJSON line: the event's metadata and its original payload (newlines folded, which JSON allows).
    static func writeNDJSONLine(_ event: StoredEvent, into buffer: inout ByteBuffer) {
        writeObject(event, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// The JSON object of an event on one line (with its payload when it was read).
    static func streamData(_ event: StoredEvent) -> String {
        var buffer = ByteBuffer()
        writeObject(event, into: &buffer)
        return String(buffer: buffer)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `EventResponse` as JSON with `"payload": <the stored bytes>` spliced in before its closing brace.
    private static func writeObject(_ event: StoredEvent, into buffer: inout ByteBuffer) {
        // Encoding strings, numbers and arrays of them cannot fail.
        var object = (try? encoder.encode(EventResponse(event))) ?? Data("{}".utf8)
        object.removeLast()  // the closing brace
        buffer.writeBytes(object)
        if let body = event.body {
            buffer.writeString(object.count > 1 ? ",\"payload\":" : "\"payload\":")
            writeSingleLine(body, into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// A stored body on one line: CR and LF (only ever whitespace between JSON tokens) become spaces, written
    /// straight into the page's buffer.
    private static func writeSingleLine(_ body: Data, into buffer: inout ByteBuffer) {
        body.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            var end = bytes.count
            while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 || bytes[start] == 0x0A || bytes[start] == 0x0D { start += 1 }
            while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 || bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D {
                end -= 1
            }
            let count = end - start
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
                for offset in 0..<count {
                    let byte = bytes[start + offset]
                    target[offset] = byte == 0x0A || byte == 0x0D ? 0x20 : byte
                }
                return count
            }
        }
    }

    /// One CSV row. Fields holding a comma, a quote, CR or LF are quoted; a field a spreadsheet would read as a
    /// formula (leading `=`, `+`, `-`, `@`, tab or CR) gets a `'` first, so an export never runs what a POS sent.
    static func writeCSVLine(_ event: StoredEvent, into buffer: inout ByteBuffer) {
        var payload = ByteBuffer()
        if let body = event.body { writeSingleLine(body, into: &payload) }
        let fields = EventResponse(event).csvFields + [String(buffer: payload)]
        buffer.writeString(fields.map(csvField).joined(separator: ",") + "\n")
    }

    static func csvField(_ text: String) -> String {
        var text = text
        if let first = text.utf8.first,
            [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D].contains(first)
        {
            text = "'" + text
        }
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
