import Hummingbird

/// Errors on dashboard pages, answered as a page a person can read (with the same status and headers) rather
/// than JSON.
enum DashboardErrorPage {
    private static let pagePrefixes = ["/restaurants", "/events/", "/tokens", "/login", "/logout"]

    /// True for the dashboard's own pages (not the API, webhooks, health, metrics or assets).
    static func isPage(_ request: Request) -> Bool {
        let path = request.uri.path
        return path == "/" || pagePrefixes.contains { path.hasPrefix($0) }
    }

    static func response(for error: APIError) -> Response {
        let retry = error.status == .serviceUnavailable ? "<p>Storage is unavailable for the moment: try again in a few seconds.</p>" : ""
        var response = HTML.page(
            title: error.status.reasonPhrase,
            body: """
                <div class="card"><h1>\(error.status.code) · \(HTML.escape(error.status.reasonPhrase))</h1>
                <p role="alert">\(HTML.escape(error.detail))</p>\(retry)<p><a href="/">Back to the restaurants</a></p></div>
                """, signedIn: false)
        response.status = error.status
        for field in error.headers where field.name != .contentType { response.headers.append(field) }
        return response
    }
}
