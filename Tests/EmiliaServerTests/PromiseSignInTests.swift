import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Testing

@testable import EmiliaServer

/// Promises (decisions "Operations"): a dashboard sign-in lasts 8 h, checked by the server (not only by the
/// cookie's Max-Age), and the cookie is signed with the admin key, so changing the key signs everyone out while a
/// restart with the same key does not.
@Suite("Promise: dashboard sign-in")
struct PromiseSignInTests {
    /// A request carrying `value` as the session cookie.
    private func request(cookie value: String) -> Request {
        Request(
            head: HTTPRequest(
                method: .get, scheme: "http", authority: "localhost", path: "/",
                headerFields: [.cookie: "\(DashboardAuth.cookieName)=\(value)"]),
            body: RequestBody(buffer: ByteBuffer()))
    }

    /// DashboardAuth.session(of:) with a moving clock: valid a minute before 8 h, refused a second after; an
    /// expiry edited by hand is refused. Catches the `expiry > now` check being dropped, a lifetime other than 8 h,
    /// and an expiry outside the signature.
    @Test(.timeLimit(.minutes(2)))
    func aSignInExpiresAfterEightHoursOnTheServer() {
        let clock = PromiseClock(Date(timeIntervalSince1970: 1_764_000_000))
        var auth = DashboardAuth(adminKey: TestServer.adminKey)
        #expect(auth.lifetime == 8 * 3600)
        auth.now = { clock.now }
        let cookie = auth.issue()
        #expect(auth.session(of: request(cookie: cookie)) == cookie)
        clock.advance(by: 8 * 3600 - 60)
        #expect(auth.session(of: request(cookie: cookie)) == cookie)
        clock.advance(by: 61)
        #expect(auth.session(of: request(cookie: cookie)) == nil, "a cookie past its expiry was accepted")
        // Pushing the expiry forward breaks the signature.
        let parts = cookie.split(separator: ".")
        let extended = "\(Int(parts[0])! + 86_400).\(parts[1]).\(parts[2])"
        #expect(auth.session(of: request(cookie: extended)) == nil)
    }

    /// The live server refuses a correctly signed cookie whose expiry has passed (the browser may still send it),
    /// and takes one that has not. Catches a dashboard that trusts any well-signed cookie.
    @Test(.timeLimit(.minutes(2)))
    func theServerRefusesAnExpiredCookieABrowserStillSends() async throws {
        try await TestServer.with { server in
            let nineHoursAgo = Date().addingTimeInterval(-9 * 3600)
            let expired = DashboardAuth(adminKey: TestServer.adminKey, now: { nineHoursAgo }).issue()
            let stale = try await server.page("/", cookie: "\(DashboardAuth.cookieName)=\(expired)")
            #expect(stale.status == 303)
            #expect(stale.headers["Location"].first?.hasPrefix("/login") == true)
            let fresh = DashboardAuth(adminKey: TestServer.adminKey).issue()
            #expect(try await server.page("/", cookie: "\(DashboardAuth.cookieName)=\(fresh)").status == 200)
        }
    }

    /// A cookie from a server with key A: refused by a server with key B on the same data dir, accepted again by
    /// a restart with key A. Catches a cookie signed with anything but the admin key (a constant, a secret kept in
    /// the data dir) and sign-ins kept in server memory.
    @Test(.timeLimit(.minutes(2)))
    func changingTheAdminKeySignsEveryoneOut() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cookie = try await TestServer.with(dataDirectory: directory) { server in
            let cookie = try await server.signIn()
            #expect(try await server.page("/", cookie: cookie).status == 200)
            return cookie
        }
        try await TestServer.with(configure: { $0.adminKey = "another-admin-key-fedcba9876543210" }, dataDirectory: directory) { server in
            let answer = try await server.page("/", cookie: cookie)
            #expect(answer.status == 303, "a cookie signed with the old key still signs in")
            #expect(answer.headers["Location"].first?.hasPrefix("/login") == true)
        }
        try await TestServer.with(dataDirectory: directory) { (server: TestServer) async throws -> Void in
            #expect(try await server.page("/", cookie: cookie).status == 200)
        }
    }
}
