import Crypto
import Foundation
import Hummingbird

/// Sign-in for people: a signed, expiring cookie (HMAC-SHA256 keyed by the admin key), and CSRF tokens derived
/// from it. Nothing is kept on the server, so any node of a cluster accepts it and a restart keeps people signed in;
/// changing the admin key signs everyone out.
struct DashboardAuth: Sendable {
    static let cookieName = "emilia_session"
    let adminKey: String
    /// How long a sign-in lasts.
    var lifetime: TimeInterval = 8 * 3600
    var now: @Sendable () -> Date = { Date() }

    /// A new cookie value: `expiry.nonce.signature`.
    func issue() -> String {
        let expiry = Int(now().timeIntervalSince1970 + lifetime)
        let nonce = UUID().uuidString.lowercased()
        let payload = "\(expiry).\(nonce)"
        return "\(payload).\(sign(payload))"
    }

    /// The `Set-Cookie` header for a new sign-in (`Secure` when the page came over HTTPS).
    func setCookie(_ value: String, secure: Bool = false) -> String {
        "\(Self.cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(lifetime))\(secure ? "; Secure" : "")"
    }

    /// The `Set-Cookie` header that signs out.
    func clearCookie(secure: Bool = false) -> String {
        "\(Self.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\(secure ? "; Secure" : "")"
    }

    /// The valid session cookie of a request, or nil.
    func session(of request: Request) -> String? {
        guard let value = request.cookies[Self.cookieName]?.value else { return nil }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = TimeInterval(parts[0]), expiry > now().timeIntervalSince1970 else { return nil }
        let payload = "\(parts[0]).\(parts[1])"
        guard AdminAuthMiddleware.constantTimeEquals(String(parts[2]), sign(payload)) else { return nil }
        return value
    }

    /// The CSRF token forms must carry for this session.
    func csrfToken(for session: String) -> String { sign("csrf:" + session) }

    /// True when `token` is this session's CSRF token.
    func isValidCSRF(_ token: String?, session: String) -> Bool {
        guard let token else { return false }
        return AdminAuthMiddleware.constantTimeEquals(token, csrfToken(for: session))
    }

    private func sign(_ text: String) -> String {
        let key = SymmetricKey(data: Data(adminKey.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// Sends signed-out visitors of dashboard pages to the sign-in page.
struct DashboardSignInMiddleware: RouterMiddleware {
    typealias Context = EmiliaRequestContext
    let auth: DashboardAuth

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let session = auth.session(of: request) else {
            let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return HTML.redirect("/login?next=\(HTML.query(target))")
        }
        var context = context
        context.dashboardSession = session
        return try await next(request, context)
    }
}
