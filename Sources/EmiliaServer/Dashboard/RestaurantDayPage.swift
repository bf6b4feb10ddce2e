import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird

/// `/restaurants/{token_id}?env=prod|dev&date=YYYY-MM-DD`: one restaurant's day at a glance.
struct RestaurantDayPage: Sendable {
    let store: any EventStore
    let auth: DashboardAuth

    func render(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let scope = try await ReadScope.from(request, store: store, tokenID: try context.parameters.require("token_id"))
        let day = try scope.day(request)
        let token = scope.token
        let env = scope.environment
        async let sessionsRead = store.sessions(tokenID: token.id, environment: env, localDate: day.date)
        async let qualityRead = store.dataQuality(tokenID: token.id, environment: env, from: day.start, to: day.end)
        async let rejectionsRead = store.rejections(tokenID: token.id, environment: env, limit: 20)
        let filters = EventFilters(request)
        var query = EventQuery(tokenID: token.id, environment: env, limit: 50)
        filters.apply(to: &query)
        async let eventsRead = store.events(query)
        let sessions = try await sessionsRead
        let analytics = DayAnalytics(sessions: sessions, timeZone: scope.timeZone)
        let quality = try await qualityRead
        let rejections = try await rejectionsRead
        let events = try await eventsRead.events

        let base = "/restaurants/\(token.id)"
        let envLinks = DeploymentEnvironment.allCases.map { option -> String in
            "<a class=\"\(option.rawValue)\(option == env ? " current" : "")\" href=\"\(base)?env=\(option.rawValue)&date=\(day.date)\">\(option == .dev ? "Dev (test data)" : "Prod")</a>"
        }.joined(separator: " ")
        var body = """
            <h1>\(HTML.escape(token.name)) <span class="badge \(env == .dev ? "warn" : "active")" data-env="\(env.rawValue)">\(env.rawValue)</span></h1>
            <div class="filters"><div class="env-switch" role="group" aria-label="Environment">\(envLinks)</div>
            <form method="get" action="\(base)"><input type="hidden" name="env" value="\(env.rawValue)">
            <label for="date">Day (\(HTML.escape(token.timeZone)))</label>
            <input id="date" name="date" type="date" value="\(day.date)"> <button type="submit" class="secondary">Show</button></form></div>
            """
        body += summaryCard(analytics)
        body +=
            "<h2>Tables</h2><div class=\"card\">\(Charts.timeline(sessions, day: (day.start, day.end), now: Date(), zone: scope.timeZone))"
        body += "<p class=\"muted\">Solid bars: closed checks. Hatched bars: still open.</p></div>"
        body += chartsGrid(analytics)
        body += staffTable(analytics)
        body += qualityCard(quality, rejections: rejections)
        body += eventLog(events, base: base, env: env, filters: filters)
        return HTML.page(
            title: token.name, body: body, csrf: auth.csrfToken(for: context.dashboardSession ?? ""),
            environmentBanner: env == .dev ? "DEV — test data, kept apart from production" : nil)
    }

    private func summaryCard(_ analytics: DayAnalytics) -> String {
        let turnover = analytics.turnover
        return """
            <div class="card grid" style="grid-template-columns:repeat(auto-fit,minmax(150px,1fr))">
            <div><div class="muted">Checks closed</div><strong data-metric="sessions-closed">\(turnover.sessionsClosed)</strong></div>
            <div><div class="muted">Open now</div><strong data-metric="sessions-open">\(turnover.sessionsOpen)</strong></div>
            <div><div class="muted">Revenue</div><strong>\(analytics.revenueTotal)</strong></div>
            <div><div class="muted">Average ticket</div><strong>\(analytics.averageTicket.map(\.description) ?? "—")</strong></div>
            <div><div class="muted">Median stay</div><strong>\(HTML.duration(turnover.medianDurationSeconds))</strong></div>
            <div><div class="muted">Open → first item</div><strong>\(HTML.duration(analytics.serviceTiming.medianFirstItemSeconds))</strong></div>
            </div>
            """
    }

    private func chartsGrid(_ analytics: DayAnalytics) -> String {
        let revenue = analytics.revenueByHour.map { (label: "\($0.hour)h", value: $0.revenue.doubleValue, text: $0.revenue.description) }
        var buckets = [Int](repeating: 0, count: 6)
        for session in [Int](analytics.durations) { buckets[min(5, session / 1800)] += 1 }
        let durationLabels = ["<30m", "30–60m", "1–1.5h", "1.5–2h", "2–2.5h", "2.5h+"]
        let durations = zip(durationLabels, buckets).map { (label: $0, value: Double($1), text: "\($1) checks") }
        let staff = analytics.staff.filter { $0.sales > .zero }.prefix(10).map {
            (label: $0.name ?? "#\($0.employeeID)", value: $0.sales.doubleValue, text: $0.sales.description)
        }
        return """
            <div class="grid">
            <div class="card"><h2>Revenue by hour</h2>\(Charts.bars(name: "revenue-by-hour", title: "Revenue by hour", revenue))</div>
            <div class="card"><h2>How long tables stay</h2>\(Charts.bars(name: "durations", title: "Session durations", durations))</div>
            <div class="card"><h2>Sales by staff</h2>\(Charts.horizontalBars(name: "staff-sales", title: "Sales by staff", Array(staff)))</div>
            </div>
            """
    }

    private func staffTable(_ analytics: DayAnalytics) -> String {
        let rows = analytics.staff.map { person -> String in
            """
            <tr><td>\(HTML.escape(person.name ?? "—"))</td><td>\(HTML.escape(person.employeeID.text))</td>
            <td class="num">\(person.sessionsOpened)</td><td class="num">\(person.sessionsClosed)</td><td class="num">\(person.itemLines)</td>
            <td class="num">\(person.sales)</td><td class="num">\(person.tips)</td></tr>
            """
        }.joined()
        return """
            <h2>Staff</h2><div class="card"><table data-table="staff"><thead><tr><th>Name</th><th>Id</th><th class="num">Opened</th>
            <th class="num">Closed</th><th class="num">Items</th><th class="num">Sales</th><th class="num">Tips</th></tr></thead>
            <tbody>\(rows.isEmpty ? "<tr><td colspan=\"7\" class=\"muted\">No staff activity this day.</td></tr>" : rows)</tbody></table></div>
            """
    }

    private func qualityCard(_ quality: DataQuality, rejections: [Rejection]) -> String {
        let warnings = quality.warnings.sorted { $0.value > $1.value }.map { code, count -> String in
            let remedy = WarningCode(rawValue: code)?.remedy ?? ""
            let example = quality.examples[code].map { " <a href=\"/events/\($0)\">example</a>" } ?? ""
            return
                "<tr data-warning=\"\(code)\"><td><code>\(code)</code></td><td class=\"num\">\(count)</td><td>\(HTML.escape(remedy))\(example)</td></tr>"
        }.joined()
        let refused = rejections.map { rejection -> String in
            let times = rejection.count > 1 ? " <span class=\"badge warn\">×\(rejection.count)</span>" : ""
            return
                "<tr><td>\(Timestamp.formatUTC(rejection.at))</td><td>\(rejection.status)</td><td>\(HTML.escape(rejection.reason))\(times)</td></tr>"
        }.joined()
        var unfolded = ""
        if quality.unfoldedEvents > 0 {
            let example = quality.unfoldedExample.map { " <a href=\"/events/\($0)\">example</a>" } ?? ""
            unfolded =
                "<p class=\"error\" data-unfolded=\"\(quality.unfoldedEvents)\">\(quality.unfoldedEvents) events could not be folded into their session (kept in the log): \(HTML.escape(quality.unfoldedReason ?? "unknown reason")).\(example)</p>"
        }
        let sampled = quality.warningsSampled ? " Warning counts cover the newest \(DataQuality.warningSampleLimit) of them." : ""
        return """
            <h2>Data quality</h2><div class="grid"><div class="card">
            <p>\(quality.events) events this day, \(quality.eventsWithWarnings) with warnings.\(sampled)</p>\(unfolded)
            <table data-table="warnings"><thead><tr><th>Warning</th><th class="num">Events</th><th>How to fix it</th></tr></thead>
            <tbody>\(warnings.isEmpty ? "<tr><td colspan=\"3\" class=\"muted\">No warnings: the data is clean.</td></tr>" : warnings)</tbody></table></div>
            <div class="card"><h2 style="margin-top:0">Refused posts</h2><table data-table="rejections"><thead><tr><th>When (UTC)</th><th>Status</th><th>Reason</th></tr></thead>
            <tbody>\(refused.isEmpty ? "<tr><td colspan=\"3\" class=\"muted\">Nothing refused.</td></tr>" : refused)</tbody></table></div></div>
            """
    }

    private func eventLog(_ events: [StoredEvent], base: String, env: DeploymentEnvironment, filters: EventFilters) -> String {
        let rows = events.map(Self.row).joined()
        let live = "\(base)/rows?env=\(env.rawValue)\(filters.queryString)"
        return """
            <h2>Event log</h2><div class="card">
            <form method="get" action="\(base)" class="filters"><input type="hidden" name="env" value="\(env.rawValue)">
            <div><label for="event">Event</label><select id="event" name="event"><option value="">any</option>
            \(["session_opened", "items_added", "session_complete", "connection_test"].map { "<option\(filters.event == $0 ? " selected" : "")>\($0)</option>" }.joined())</select></div>
            <div><label for="table">Table</label><input id="table" name="table" value="\(HTML.escape(filters.table ?? ""))" placeholder="Mesa 8"></div>
            <div><label for="has_warnings">Warnings</label><select id="has_warnings" name="has_warnings"><option value="">any</option>
            <option value="true"\(filters.hasWarnings == true ? " selected" : "")>with warnings</option><option value="false"\(filters.hasWarnings == false ? " selected" : "")>clean</option></select></div>
            <div><button type="submit" class="secondary">Filter</button></div></form>
            <table data-live-events="\(HTML.escape(live))"><thead><tr><th>Received (UTC)</th><th>Event</th><th>Order</th><th>Table</th><th>Warnings</th></tr></thead>
            <tbody>\(rows.isEmpty ? "<tr data-empty><td colspan=\"5\" class=\"muted\">No events yet. New ones appear here as they arrive.</td></tr>" : rows)</tbody></table></div>
            """
    }

    /// One event log row (also served alone for live updates).
    static func row(_ event: StoredEvent) -> String {
        let warnings: String =
            event.warnings.isEmpty
            ? ""
            : event.warnings.map { (warning: ValidationWarning) -> String in "<span class=\"badge warn\">\(warning.code.rawValue)</span>" }
                .joined(separator: " ")
        return """
            <tr data-event-id="\(event.id)"><td><a href="/events/\(event.id)">\(Timestamp.formatUTC(event.receivedAt))</a></td>
            <td>\(HTML.escape(event.eventType))</td><td>\(HTML.escape(event.orderID ?? "—"))</td><td>\(HTML.escape(event.tableNumber ?? "—"))</td><td>\(warnings)</td></tr>
            """
    }
}

/// The event log's filters, from the query string.
struct EventFilters: Sendable {
    var event: String?
    var table: String?
    var hasWarnings: Bool?

    init(_ request: Request) {
        let query = request.uri.queryParameters
        event = query.get("event").flatMap { $0.isEmpty ? nil : $0 }
        table = query.get("table").flatMap { $0.isEmpty ? nil : $0 }
        hasWarnings = query.get("has_warnings").flatMap { Bool($0) }
    }

    func apply(to query: inout EventQuery) {
        query.eventType = event
        query.tableNumber = table
        query.hasWarnings = hasWarnings
    }

    var queryString: String {
        (event.map { "&event=\(HTML.query($0))" } ?? "") + (table.map { "&table=\(HTML.query($0))" } ?? "")
            + (hasWarnings.map { "&has_warnings=\($0)" } ?? "")
    }
}
