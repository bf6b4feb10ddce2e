import EmiliaIngest
import Foundation
import Hummingbird

/// `/login` and `/logout`: the admin key in a form, a signed session cookie out.
struct SignInPages: Sendable {
    let auth: DashboardAuth
    /// Failed sign-ins per client address: guessing a key costs the guesser time.
    let failures: RateLimiter

    func addRoutes(to router: some RouterMethods<EmiliaRequestContext>) {
        router.get("login") { request, _ in
            if auth.session(of: request) != nil { return HTML.redirect("/") }
            return form(next: request.uri.queryParameters.get("next"), message: nil)
        }
        router.post("login") { request, context in
            let fields = try await FormFields.read(request)
            let next = Self.safeNext(fields["next"])
            if let wait = failures.pendingWait(context.clientAddress) {
                var response = form(next: next, message: "Too many wrong keys from this address: wait \(wait) s and try again.")
                response.status = .tooManyRequests
                response.headers[.retryAfter] = String(wait)
                return response
            }
            guard let key = fields["admin_key"], AdminAuthMiddleware.constantTimeEquals(key, auth.adminKey) else {
                _ = failures.acquire(context.clientAddress)
                var response = form(
                    next: next, message: "That admin key is not right. Check EMILIA_ADMIN_KEY or the admin.key file in the data directory.")
                response.status = .unauthorized
                return response
            }
            let session = auth.issue()
            return HTML.redirect(next, headers: [.setCookie: auth.setCookie(session, secure: context.isSecure)])
        }
        router.post("logout") { request, context in
            let fields = try await FormFields.read(request)
            guard let session = auth.session(of: request) else { return HTML.redirect("/login") }
            guard auth.isValidCSRF(fields["csrf_token"], session: session) else {
                throw RequestError.staleForm
            }
            return HTML.redirect("/login", headers: [.setCookie: auth.clearCookie(secure: context.isSecure)])
        }
    }

    /// Only same-site paths; anything else goes to `/`. A path is printable ASCII without spaces or backslashes
    /// (browsers drop tabs and newlines and read `\\` as `/`, which would turn `/\t/evil` into `//evil`), starting
    /// with one `/`.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.utf8.count <= 2048, next.hasPrefix("/"), !next.hasPrefix("//"),
            next.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") })
        else { return "/" }
        return next
    }

    func form(next: String?, message: String?) -> Response {
        let error = message.map { "<p class=\"error\" role=\"alert\">\(HTML.escape($0))</p>" } ?? ""
        return HTML.page(
            title: "Sign in",
            body: """
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
