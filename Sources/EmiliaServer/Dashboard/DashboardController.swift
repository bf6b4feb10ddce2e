import EmiliaIngest
import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird

/// The dashboard for people: restaurants, a restaurant's day, an event, tokens. Sign-in and CSRF protect it.
struct DashboardController: Sendable {
    let store: any EventStore
    let auth: DashboardAuth
    /// Failed sign-ins per client address.
    let signInFailures: RateLimiter
    let configuration: ServerConfiguration

    func addRoutes(to router: some RouterMethods<EmiliaRequestContext>) {
        Assets.addRoutes(to: router)
        SignInPages(auth: auth, failures: signInFailures).addRoutes(to: router)
        let pages = router.group().add(middleware: DashboardSignInMiddleware(auth: auth))
        let day = RestaurantDayPage(store: store, auth: auth)
        pages.get("/", use: restaurants)
        pages.get("restaurants/:token_id") { request, context in try await day.render(request, context: context) }
        pages.get("restaurants/:token_id/rows", use: liveRows)
        pages.get("events/:id") { request, context in
            try await EventDetailPage(store: store, auth: auth).render(request, context: context)
        }
        let tokens = TokensPage(store: store, auth: auth, configuration: configuration)
        pages.get("tokens") { _, context in try await tokens.render(context: context, issued: nil, message: nil) }
        pages.post("tokens") { request, context in try await tokens.create(request, context: context) }
        pages.post("tokens/:id/:action") { request, context in try await tokens.change(request, context: context) }
    }

    @Sendable func restaurants(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let tokens = try await store.listTokens()
        // Each restaurant's "today" in its own zone; all of them read at once.
        var windows: [String: Range<Date>] = [:]
        for token in tokens {
            let zone = TimeZone(identifier: token.timeZone) ?? .gmt
            if let bounds = LocalDay.bounds(of: LocalDay.of(Date(), in: zone), in: zone) { windows[token.id] = bounds.start..<bounds.end }
        }
        let activities = try await store.activities(in: windows)
        var rows = ""
        for token in tokens {
            let activity = activities[token.id] ?? TokenActivity(lastEventAt: nil, events: 0, eventsWithWarnings: 0)
            let share = activity.events == 0 ? "—" : "\(activity.eventsWithWarnings * 100 / activity.events)%"
            rows += """
                <tr data-token-id="\(token.id)"><td><a href="/restaurants/\(token.id)">\(HTML.escape(token.name))</a></td>
                <td><code>\(token.prefix)…</code></td><td><span class="badge \(token.status.rawValue)">\(token.status.rawValue)</span></td>
                <td>\(activity.lastEventAt.map(Timestamp.formatUTC) ?? "never")</td><td class="num">\(activity.events)</td>
                <td class="num">\(share)</td></tr>
                """
        }
        let body = """
            <h1>Restaurants</h1><div class="card"><table data-table="restaurants"><thead><tr><th>Name</th><th>Token</th><th>Status</th>
            <th>Last event (UTC)</th><th class="num">Events today (prod)</th><th class="num">With warnings</th></tr></thead>
            <tbody>\(rows.isEmpty ? "<tr><td colspan=\"6\" class=\"muted\">No restaurants yet: <a href=\"/tokens\">create a token</a>.</td></tr>" : rows)</tbody></table></div>
            """
        return HTML.page(title: "Restaurants", body: body, csrf: auth.csrfToken(for: context.dashboardSession ?? ""))
    }

    /// Event log rows newer than `after`, for the page's live refresh.
    @Sendable func liveRows(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let scope = try await ReadScope.from(request, store: store, tokenID: try context.parameters.require("token_id"))
        var query = EventQuery(tokenID: scope.token.id, environment: scope.environment, limit: 100, isOldestFirst: true)
        EventFilters(request).apply(to: &query)
        // `after` is the newest event id the page shows; the log continues from that event's position.
        if let after = request.uri.queryParameters.get("after"), UUID(uuidString: after) != nil,
            let event = try await store.event(id: after), event.tokenID == scope.token.id
        {
            query.cursor = event.position
        } else {
            query.isOldestFirst = false
            query.limit = 50
        }
        let events = try await store.events(query).events
        let newestFirst = query.isOldestFirst ? events.reversed() : events
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: newestFirst.map(RestaurantDayPage.row).joined())))
    }
}
