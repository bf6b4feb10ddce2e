import Foundation
import Hummingbird

/// The OpenAPI 3.1 document of every route but the dashboard's pages, kept by hand beside the routes (see
/// docs/decisions.md): served at `GET /openapi.json`, committed as docs/openapi.json (`emilia openapi` writes it), and
/// held against the router and the server's answers by the tests and by schemathesis in CI.
public enum OpenAPIDocument {
    /// The document as served: keys sorted, pretty-printed, one newline at the end.
    public static let json: [UInt8] = {
        let object: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "Emilia",
                "version": emiliaVersion,
                "description": "POS webhook ingestion: every event stored durably, bad data answered at once, table sessions "
                    + "and analytics. The wire contract in prose: docs/contract.md.",
            ],
            "paths": OpenAPIPaths.all,
            "components": ["schemas": OpenAPISchemas.all, "securitySchemes": OpenAPISchemas.securitySchemes],
        ]
        // A dictionary of strings, numbers, booleans and arrays of them: serialization cannot fail.
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return Array(data) + [UInt8(ascii: "\n")]
    }()

    static func addRoute(to router: some RouterMethods<EmiliaRequestContext>) {
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
    }
}

/// Pieces the paths and schemas share.
enum OpenAPI {
    static func ref(_ schema: String) -> [String: Any] { ["$ref": "#/components/schemas/\(schema)"] }

    /// A JSON answer with a schema.
    static func json(_ description: String, _ schema: [String: Any], headers: [String: Any]? = nil) -> [String: Any] {
        var answer: [String: Any] = ["description": description, "content": ["application/json": ["schema": schema]]]
        if let headers { answer["headers"] = headers }
        return answer
    }

    /// An error answer: `{"detail": …}`; 429 and 503 carry `Retry-After`.
    static func error(_ status: Int, _ description: String) -> [String: Any] {
        let retryAfter: [String: Any] = [
            "Retry-After": [
                "description": "Whole seconds to wait before retrying.", "schema": ["type": "integer", "minimum": 1],
            ]
        ]
        return json(description, ref("Error"), headers: status == 429 || status == 503 ? retryAfter : nil)
    }

    /// Error answers by status.
    static func errors(_ entries: [Int: String]) -> [String: Any] {
        Dictionary(uniqueKeysWithValues: entries.map { (String($0.key), error($0.key, $0.value)) })
    }

    static func query(_ name: String, _ description: String, _ schema: [String: Any], required: Bool = false) -> [String: Any] {
        ["name": name, "in": "query", "description": description, "required": required, "schema": schema]
    }

    static func path(_ name: String, _ description: String) -> [String: Any] {
        ["name": name, "in": "path", "description": description, "required": true, "schema": ["type": "string"]]
    }

    static func header(_ name: String, _ description: String, _ schema: [String: Any] = ["type": "string"]) -> [String: Any] {
        ["name": name, "in": "header", "description": description, "required": false, "schema": schema]
    }

    static var string: [String: Any] { ["type": "string"] }
    static var integer: [String: Any] { ["type": "integer"] }
    static var environment: [String: Any] { ["type": "string", "enum": ["dev", "prod"]] }
    static var tokenID: [String: Any] { query("token_id", "The restaurant's token id.", string, required: true) }
    static var env: [String: Any] { query("env", "`prod` (the default) or `dev`: the two never mix.", environment) }
    static var adminOnly: [[String: Any]] { [["adminKey": []]] }
    /// What every admin operation may also answer.
    static let adminErrors: [Int: String] = [401: "No admin key, or a wrong one.", 503: "Storage unavailable, retry later."]
}
