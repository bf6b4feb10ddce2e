import Foundation
import Hummingbird

/// `/login` and `/logout`: the admin key in a form, a signed session cookie out.
struct SignInPages: Sendable {
    let auth: DashboardAuth

    func addRoutes(to router: Router<EmiliaRequestContext>) {
        router.get("login") { request, _ in
            if auth.session(of: request) != nil { return HTML.redirect("/") }
            return form(next: request.uri.queryParameters.get("next"), message: nil)
        }
        router.post("login") { request, _ in
            let fields = try await FormFields.read(request)
            let next = Self.safeNext(fields["next"])
            guard let key = fields["admin_key"], AdminAuthMiddleware.constantTimeEquals(key, auth.adminKey) else {
                var response = form(next: next, message: "That admin key is not right. Check EMILIA_ADMIN_KEY or the admin.key file in the data directory.")
                response.status = .unauthorized
                return response
            }
            let session = auth.issue()
            return HTML.redirect(next, headers: [.setCookie: auth.setCookie(session)])
        }
        router.post("logout") { request, _ in
            let fields = try await FormFields.read(request)
            guard let session = auth.session(of: request) else { return HTML.redirect("/login") }
            guard auth.isValidCSRF(fields["csrf_token"], session: session) else {
                throw APIError(.forbidden, "The form is stale or came from another site; reload the page and try again.")
            }
            return HTML.redirect("/login", headers: [.setCookie: auth.clearCookie])
        }
    }

    /// Only same-site paths; anything else goes to `/`.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }

    func form(next: String?, message: String?) -> Response {
        let error = message.map { "<p class=\"error\" role=\"alert\">\(HTML.escape($0))</p>" } ?? ""
        return HTML.page(title: "Sign in", body: """
            <div class="card" style="max-width:420px;margin:40px auto">
            <h1>Sign in to Emilia</h1>
            \(error)
            <form method="post" action="/login">
            <input type="hidden" name="next" value="\(HTML.escape(Self.safeNext(next)))">
            <label for="admin_key">Admin key</label>
            <input id="admin_key" name="admin_key" type="password" autocomplete="current-password" required style="width:100%">
            <p><button type="submit">Sign in</button></p>
            </form>
            <p class="muted">The key is printed when the server first starts and kept in <code>emilia-data/admin.key</code>.</p>
            </div>
            """, signedIn: false)
    }
}
