import Foundation
import Hummingbird

/// Escaping and small builders for server-rendered pages.
enum HTML {
    /// Text safe inside elements and quoted attributes.
    static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.append(character)
            }
        }
        return output
    }

    /// A percent-encoded query value.
    static func query(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    /// A whole page: the layout, navigation and one stylesheet.
    static func page(title: String, body: String, signedIn: Bool = true, csrf: String = "", environmentBanner: String? = nil) -> Response {
        var navigation = ""
        if signedIn {
            navigation = """
                <nav><a class="brand" href="/">Emilia</a><a href="/">Restaurants</a><a href="/tokens">Tokens</a>
                <form method="post" action="/logout" class="inline"><input type="hidden" name="csrf_token" value="\(escape(csrf))">
                <button type="submit" class="link">Sign out</button></form></nav>
                """
        }
        let banner = environmentBanner.map { "<div class=\"env-banner\" role=\"status\">\($0)</div>" } ?? ""
        let text = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Emilia</title>
            <link rel="stylesheet" href="/assets/emilia.css">
            <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
            </head><body>
            \(navigation)\(banner)<main>
            \(body)
            </main><script src="/assets/emilia.js"></script></body></html>
            """
        return Response(status: .ok, headers: securityHeaders, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Pages load nothing from elsewhere, cannot be framed, and are not cached.
    static let securityHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
        .xContentTypeOptions: "nosniff",
    ]

    /// A 303 to `location`.
    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// "1h 45m", "55m", "40s".
    static func duration(_ seconds: Int?) -> String {
        guard let seconds else { return "—" }
        if seconds >= 3600 { return "\(seconds / 3600)h \(String(format: "%02d", seconds / 60 % 60))m" }
        if seconds >= 60 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
