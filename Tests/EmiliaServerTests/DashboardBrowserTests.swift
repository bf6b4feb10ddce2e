import Foundation
import NIOHTTP1
import Testing

/// Runs `body` with a headless Chromium; screenshots go to `EMILIA_SCREENSHOTS` when it is set.
private func withBrowser(_ body: (Browser) async throws -> Void) async throws {
    let browser = try await Browser.launch()
    do {
        try await body(browser)
    } catch {
        await browser.quit()
        throw error
    }
    await browser.quit()
}

private func screenshot(_ browser: Browser, _ name: String) async throws {
    guard let folder = ProcessInfo.processInfo.environment["EMILIA_SCREENSHOTS"] else { return }
    try await browser.screenshot(to: "\(folder)/\(name).png")
}

/// The page shows no console error and made no failed request (its favicon included).
private func expectCleanPage(_ browser: Browser, _ name: String) async throws {
    let errors = try await browser.consoleErrors()
    #expect(errors.isEmpty, "console errors on \(name): \(errors)")
    let failed = try await browser.failedRequests()
    #expect(failed.isEmpty, "failed requests on \(name): \(failed)")
    // WebDriver waits for a returned promise.
    let icon =
        try await browser.execute(
            """
            const link = document.querySelector('link[rel=icon]');
            if (!link) return 'no icon link';
            return fetch(link.href).then(answer => answer.status + ' ' + answer.headers.get('content-type'));
            """) as? String
    #expect(icon == "200 image/svg+xml", "favicon on \(name): \(icon ?? "nil")")
}

private func signIn(_ browser: Browser, _ server: TestServer, key: String = TestServer.adminKey) async throws {
    try await browser.go(server.baseURL + "/")
    let field = try await browser.find("input[name=admin_key]")
    try await browser.type(field, key)
    try await browser.click(try await browser.find("button[type=submit]"))
}

@Suite("Dashboard in headless Chromium", .serialized, .timeLimit(.minutes(3)))
struct DashboardBrowserTests {
    @Test func signInWithAWrongKeyThenTheRightOne() async throws {
        try await TestServer.with { server in
            try await withBrowser { browser in
                try await signIn(browser, server, key: "not-the-key")
                try await waitUntil { !(try await browser.findAll("[role=alert]").isEmpty) }
                #expect(try await browser.text(try await browser.find("[role=alert]")).contains("not right"))
                try await screenshot(browser, "sign-in-wrong-key")
                _ = try await browser.consoleErrors()  // the refused sign-in's 401 is expected
                try await signIn(browser, server)
                try await waitUntil {
                    let url = try await browser.currentURL
                    let tables = try await browser.findAll("table[data-table=restaurants]")
                    return url.hasSuffix("/") && !tables.isEmpty
                }
                try await expectCleanPage(browser, "restaurants after sign-in")
                // The session cookie is HttpOnly: scripts cannot read it.
                #expect((try await browser.execute("return document.cookie") as? String)?.contains("emilia_session") == false)
            }
        }
    }

    @Test func restaurantDayTimelineDevSeparationEventPageAndLiveLog() async throws {
        try await TestServer.with { server in
            let (id, token) = try await server.createToken(name: "Cantina Browser")
            for file in [
                "session_opened.json", "items_added.json", "session_complete.json", "session_complete_minimal.json",
                "table_alias.json", "totals_mismatch.json",
            ] {
                _ = try await server.post(token: token, env: "prod", body: try Fixture.data(file))
            }
            let sessions =
                try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&env=prod&date=2025-11-24", admin: true)
                .json()["sessions"] as? [Any] ?? []
            try await withBrowser { browser in
                try await signIn(browser, server)
                try await waitUntil { !(try await browser.findAll("table[data-table=restaurants]").isEmpty) }
                try await screenshot(browser, "restaurants")
                try await expectCleanPage(browser, "restaurants")
                try await browser.go("\(server.baseURL)/restaurants/\(id)?env=prod&date=2025-11-24")
                let bars = try await browser.findAll("svg[data-chart=timeline] [data-session]")
                #expect(bars.count == sessions.count)
                #expect(bars.count == 4)
                #expect(try await browser.findAll("svg[data-chart=timeline] .session.open").count == 1)
                for chart in ["revenue-by-hour", "durations", "staff-sales"] {
                    #expect(try await browser.findAll("svg[data-chart=\(chart)]").count == 1)
                }
                try await screenshot(browser, "restaurant-day")
                try await expectCleanPage(browser, "restaurant day")

                // Dev shows none of the prod data, and says it is dev.
                try await browser.go("\(server.baseURL)/restaurants/\(id)?env=dev&date=2025-11-24")
                #expect(try await browser.findAll("[data-session]").isEmpty)
                #expect(try await browser.findAll("tr[data-event-id]").isEmpty)
                #expect(try await browser.text(try await browser.find(".env-banner")).contains("DEV"))
                try await screenshot(browser, "restaurant-day-dev")
                try await expectCleanPage(browser, "restaurant day, dev")

                // A new dev event shows up in the open page's log without a reload.
                let marker = try await browser.execute("window.emiliaMarker = 42; return 1") as? Int
                #expect(marker == 1)
                let posted = try await server.post(token: token, env: "dev", body: try Fixture.data("naive_timestamp.json"))
                let eventID = try #require(try posted.json()["event_id"] as? String)
                try await waitUntil(timeout: .seconds(15)) { !(try await browser.findAll("tr[data-event-id=\"\(eventID)\"]").isEmpty) }
                #expect(try await browser.execute("return window.emiliaMarker") as? Int == 42, "the page was reloaded")
                try await screenshot(browser, "live-event")
                try await expectCleanPage(browser, "live log")

                // The event page: payload, warnings explained, its session.
                try await browser.go("\(server.baseURL)/events/\(eventID)")
                #expect(try await browser.text(try await browser.find("pre[data-payload]")).contains("ORD-2025-0200"))
                #expect(try await browser.text(try await browser.find("table[data-table=event-warnings]")).contains("naive_timestamp"))
                #expect(!(try await browser.findAll("[data-session=\"ORD-2025-0200\"]").isEmpty))
                try await screenshot(browser, "event")
                try await expectCleanPage(browser, "event")
            }
        }
    }

    @Test func creatingATokenShowsItOnceWithTheWebhookURL() async throws {
        try await TestServer.with { server in
            try await withBrowser { browser in
                try await signIn(browser, server)
                try await waitUntil { !(try await browser.findAll("table[data-table=restaurants]").isEmpty) }
                try await browser.go(server.baseURL + "/tokens")
                try await browser.type(try await browser.find("input[name=name]"), "Padaria Nova")
                try await browser.click(try await browser.find("form[action='/tokens'] button[type=submit]"))
                try await waitUntil { !(try await browser.findAll("[data-issued-token]").isEmpty) }
                let token = try await browser.text(try await browser.find("#issued-token"))
                #expect(token.count == 36)
                #expect(try await browser.text(try await browser.find("#issued-url")).contains("/webhooks/v1/pos/\(token)"))
                try await screenshot(browser, "token-created")
                try await expectCleanPage(browser, "token created")
                // The token works, and the list shows only its prefix.
                #expect(try await server.post(token: token, body: try Fixture.data("connection_test.json")).status == 200)
                try await browser.go(server.baseURL + "/tokens")
                let list = try await browser.text(try await browser.find("table[data-table=tokens]"))
                #expect(list.contains("Padaria Nova") && list.contains(String(token.prefix(8))) && !list.contains(token))
                try await expectCleanPage(browser, "tokens")
            }
        }
    }
}
