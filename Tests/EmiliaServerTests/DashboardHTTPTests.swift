import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Testing

extension TestServer {
    /// Signs in through the form and returns the session cookie (`name=value`).
    func signIn() async throws -> String {
        let answer = try await request(
            .POST, "/login", body: Data("admin_key=\(Self.adminKey)&next=%2F".utf8),
            headers: [("Content-Type", "application/x-www-form-urlencoded")])
        guard answer.status == 303, let cookie = answer.headers["Set-Cookie"].first else {
            throw TestFailure("sign-in answered \(answer.status)")
        }
        return String(cookie.split(separator: ";")[0])
    }

    /// A page fetched with the session cookie.
    func page(_ path: String, cookie: String) async throws -> HTTPAnswer {
        try await request(.GET, path, headers: [("Cookie", cookie)])
    }

    /// The CSRF token of a signed-in page's forms.
    func csrfToken(cookie: String) async throws -> String {
        let html = try await page("/tokens", cookie: cookie).text
        guard let range = html.range(of: #"name="csrf_token" value="[^"]+""#, options: .regularExpression) else {
            throw TestFailure("no CSRF token on /tokens")
        }
        return String(html[range].dropFirst(25).dropLast())
    }
}

@Suite("Dashboard over HTTP: sign-in, CSRF, access control, every page", .timeLimit(.minutes(3)))
struct DashboardHTTPTests {
    @Test(arguments: ["/", "/tokens", "/restaurants/x", "/events/x", "/restaurants/x/rows"])
    func signedOutVisitsGoToSignIn(path: String) async throws {
        try await TestServer.with { server in
            let answer = try await server.request(.GET, path)
            #expect(answer.status == 303)
            #expect(answer.headers["Location"].first?.hasPrefix("/login?next=") == true)
            let forged = try await server.request(.GET, path, headers: [("Cookie", "emilia_session=9999999999.abc.forged")])
            #expect(forged.status == 303)
        }
    }

    @Test(arguments: Backend.allCases) func signInSetsAStrictHttpOnlyExpiringCookie(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let form = try await server.request(.GET, "/login")
            #expect(form.text.contains(#"name="admin_key""#))
            let wrong = try await server.request(
                .POST, "/login", body: Data("admin_key=nope".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(wrong.status == 401)
            #expect(wrong.text.contains("not right"))
            #expect(wrong.headers["Set-Cookie"].isEmpty)
            let right = try await server.request(
                .POST, "/login", body: Data("admin_key=\(TestServer.adminKey)&next=%2Ftokens".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(right.status == 303)
            #expect(right.headers["Location"].first == "/tokens")
            let cookie = try #require(right.headers["Set-Cookie"].first)
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Max-Age=28800"))
            let offsite = try await server.request(
                .POST, "/login", body: Data("admin_key=\(TestServer.adminKey)&next=https://evil.example".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(offsite.headers["Location"].first == "/")
        }
    }

    @Test(arguments: Backend.allCases) func formsNeedTheCSRFToken(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let cookie = try await server.signIn()
            let form = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie)]
            let forged = try await server.request(.POST, "/tokens", body: Data("name=Evil".utf8), headers: form)
            #expect(forged.status == 403)
            let listed = try await server.request(.GET, "/api/v1/tokens", admin: true).json()["tokens"] as? [Any]
            #expect(listed?.isEmpty == true)
            let csrf = try await server.csrfToken(cookie: cookie)
            let created = try await server.request(
                .POST, "/tokens", body: Data("csrf_token=\(csrf)&name=Bar+Azul&timezone=America%2FSao_Paulo".utf8), headers: form)
            #expect(created.status == 200)
            #expect(created.text.contains("data-issued-token"))
            let (id, _) = try await server.createToken(name: "Other")
            let deactivate = try await server.request(
                .POST, "/tokens/\(id)/deactivate", body: Data("csrf_token=\(csrf)".utf8), headers: form)
            #expect(deactivate.status == 303)
            let record = try await server.request(.GET, "/api/v1/tokens/\(id)", admin: true).json()
            #expect(record["status"] as? String == "inactive")
            let logoutForged = try await server.request(.POST, "/logout", body: Data("csrf_token=wrong".utf8), headers: form)
            #expect(logoutForged.status == 403)
            let logout = try await server.request(.POST, "/logout", body: Data("csrf_token=\(csrf)".utf8), headers: form)
            #expect(logout.headers["Set-Cookie"].first?.contains("Max-Age=0") == true)
        }
    }

    @Test(arguments: Backend.allCases) func everyPageRendersForASignedInPerson(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken(name: "Cantina <Teste>")
            for file in [
                "session_opened.json", "items_added.json", "session_complete.json", "table_alias.json", "missing_table_number.json",
            ] {
                _ = try await server.post(token: token, env: "prod", body: try Fixture.data(file))
            }
            let eventID =
                try await server.post(token: token, env: "prod", body: try Fixture.data("naive_timestamp.json")).json()["event_id"]
                as! String
            _ = try await server.post(token: token, env: "prod", body: Data(#"{"event":"connection_test"}"#.utf8))
            let cookie = try await server.signIn()
            let home = try await server.page("/", cookie: cookie)
            #expect(home.status == 200)
            #expect(home.headers["Content-Security-Policy"].first?.contains("frame-ancestors 'none'") == true)
            #expect(home.text.contains("Cantina &lt;Teste&gt;"))
            // Name, prefix, status, last event, events today (the one without a timestamp is today's), share with warnings.
            let row = try #require(
                home.text.components(separatedBy: "<tr data-token-id=\"\(id)\">").last?.components(separatedBy: "</tr>").first)
            #expect(row.contains("<code>\(token.prefix(8))…</code>"))
            #expect(row.contains(">active<"))
            #expect(row.contains("<td class=\"num\">1</td>"))
            #expect(row.contains("<td class=\"num\">0%</td>"))
            #expect(!row.contains("never"))
            let day = try await server.page("/restaurants/\(id)?env=prod&date=2025-11-24", cookie: cookie).text
            #expect(day.components(separatedBy: "data-session=").count - 1 == 4)
            for chart in ["timeline", "revenue-by-hour", "durations", "staff-sales"] { #expect(day.contains("data-chart=\"\(chart)\"")) }
            #expect(day.contains("data-warning=\"missing_table_number\""))
            #expect(day.contains("data-event-id=\"\(eventID)\""))
            let filtered = try await server.page("/restaurants/\(id)?env=prod&date=2025-11-24&has_warnings=true", cookie: cookie).text
            #expect(filtered.components(separatedBy: "<tr data-event-id=").count - 1 == 3)
            let dev = try await server.page("/restaurants/\(id)?env=dev&date=2025-11-24", cookie: cookie).text
            #expect(!dev.contains("data-session="))
            #expect(dev.contains("env-banner"))
            let event = try await server.page("/events/\(eventID)", cookie: cookie).text
            #expect(event.contains("naive_timestamp"))
            #expect(event.contains("data-payload"))
            #expect(event.contains("ORD-2025-0200"))
            let rows = try await server.page("/restaurants/\(id)/rows?env=prod&after=\(eventID)", cookie: cookie)
            #expect(rows.status == 200)
            #expect(rows.text.components(separatedBy: "<tr data-event-id=").count - 1 == 1, "only the event posted after it")
            #expect(rows.text.contains("connection_test") && !rows.text.contains(eventID))
            #expect(try await server.page("/events/\(UUID().uuidString)", cookie: cookie).status == 404)
            #expect(try await server.page("/assets/emilia.css", cookie: "").status == 200)
        }
    }
}
