import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird
import Logging

/// `/tokens`: create (the token shown once, with the full webhook URL and a copy button), deactivate,
/// reactivate, rotate. Every form carries the session's CSRF token.
struct TokensPage: Sendable {
    let store: any EventStore
    let auth: DashboardAuth
    let configuration: ServerConfiguration

    func render(context: EmiliaRequestContext, issued: IssuedToken?, message: String?, baseURL: String = "") async throws -> Response {
        let csrf = auth.csrfToken(for: context.dashboardSession ?? "")
        let hidden = "<input type=\"hidden\" name=\"csrf_token\" value=\"\(HTML.escape(csrf))\">"
        var body = "<h1>Tokens</h1>"
        if let message { body += "<p class=\"error\" role=\"alert\">\(HTML.escape(message))</p>" }
        if let issued {
            let url = "\(baseURL)/webhooks/v1/pos/\(issued.token)?env=dev"
            body += """
                <div class="card" data-issued-token><h2 style="margin-top:0">Token for \(HTML.escape(issued.record.name))</h2>
                <p>Copy it now: it is shown once. Emilia keeps only its hash and first 8 characters.</p>
                <p class="token-once" id="issued-token">\(issued.token)</p>
                <p>Webhook URL (start with <code>env=dev</code>; switch to <code>env=prod</code> once your test posts are clean):</p>
                <p class="token-once" id="issued-url">\(HTML.escape(url))</p>
                <button type="button" data-copy="issued-token">Copy token</button> <button type="button" class="secondary" data-copy="issued-url">Copy URL</button></div>
                """
        }
        let rows = try await store.listTokens().map { token -> String in
            let toggle = token.status == .active ? "deactivate" : "reactivate"
            return """
                <tr data-token-id="\(token.id)"><td><a href="/restaurants/\(token.id)">\(HTML.escape(token.name))</a></td><td><code>\(token.prefix)…</code></td>
                <td>\(HTML.escape(token.timeZone))</td><td><span class="badge \(token.status.rawValue)">\(token.status.rawValue)</span></td><td>
                <form method="post" action="/tokens/\(token.id)/\(toggle)" class="inline">\(hidden)<button type="submit" class="secondary">\(toggle.capitalized)</button></form>
                <form method="post" action="/tokens/\(token.id)/rotate" class="inline">\(hidden)<button type="submit" class="secondary">Rotate</button></form>
                </td></tr>
                """
        }.joined()
        body += """
            <div class="card"><h2 style="margin-top:0">New restaurant</h2><form method="post" action="/tokens" class="filters">\(hidden)
            <div><label for="name">Name</label><input id="name" name="name" required maxlength="200" placeholder="Cantina da Praça"></div>
            <div><label for="timezone">Time zone</label><input id="timezone" name="timezone" value="\(HTML.escape(configuration.defaultTimeZone))"></div>
            <div><button type="submit">Create token</button></div></form></div>
            <div class="card"><table data-table="tokens"><thead><tr><th>Name</th><th>Token</th><th>Time zone</th><th>Status</th><th></th></tr></thead>
            <tbody>\(rows.isEmpty ? "<tr><td colspan=\"5\" class=\"muted\">No tokens yet.</td></tr>" : rows)</tbody></table>
            <p class="muted">Rotating issues a new value; the old one keeps working for \(configuration.rotationGrace.components.seconds / 3600) h.</p></div>
            """
        return HTML.page(title: "Tokens", body: body, csrf: csrf)
    }

    func create(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let fields = try await checkedForm(request, context: context)
        do {
            let issued = try await store.createToken(
                name: fields["name"] ?? "", timeZone: fields["timezone"] ?? configuration.defaultTimeZone)
            context.logger.info("Token created", metadata: ["token_prefix": .string(issued.record.prefix)])
            return try await render(context: context, issued: issued, message: nil, baseURL: Self.baseURL(request))
        } catch let error as StoreError {
            var response = try await render(context: context, issued: nil, message: error.message)
            response.status = .badRequest
            return response
        }
    }

    func change(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        _ = try await checkedForm(request, context: context)
        let id = try context.parameters.require("id")
        switch try context.parameters.require("action") {
        case "deactivate": _ = try await store.setTokenStatus(id: id, .inactive)
        case "reactivate": _ = try await store.setTokenStatus(id: id, .active)
        case "rotate":
            let issued = try await store.rotateToken(id: id, grace: configuration.rotationGrace)
            context.logger.info("Token rotated", metadata: ["token_prefix": .string(issued.record.prefix)])
            return try await render(context: context, issued: issued, message: nil, baseURL: Self.baseURL(request))
        default: throw RequestError.notFound("Unknown action")
        }
        return HTML.redirect("/tokens")
    }

    /// The form's fields, after checking its CSRF token.
    private func checkedForm(_ request: Request, context: EmiliaRequestContext) async throws -> FormFields {
        let fields = try await FormFields.read(request)
        guard let session = context.dashboardSession, auth.isValidCSRF(fields["csrf_token"], session: session) else {
            throw RequestError.staleForm
        }
        return fields
    }

    /// `http://host:port` as the browser reached us.
    static func baseURL(_ request: Request) -> String {
        request.head.authority.map { "http://\($0)" } ?? ""
    }
}
