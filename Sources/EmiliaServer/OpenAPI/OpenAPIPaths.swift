/// The document's `paths`: one entry per route the router registers, dashboard pages aside.
enum OpenAPIPaths {
    typealias O = OpenAPI

    static var all: [String: Any] {
        [
            "/webhooks/v1/pos/{token}": webhook,
            "/webhooks/v1/pos": [
                "post": [
                    "operationId": "postEventWithoutToken", "tags": ["webhook"], "security": [],
                    "summary": "A webhook without its token: always 401, with a hint on where the token goes.",
                    "responses": O.errors([401: "The token belongs in the path."]),
                ]
            ],
            "/health": [
                "get": [
                    "operationId": "health", "tags": ["operations"], "security": [],
                    "summary": "Liveness and storage: 200 when the store answers, 503 when it does not.",
                    "responses": [
                        "200": O.json("Storage answers.", O.ref("Health")), "503": O.json("Storage unavailable.", O.ref("Health")),
                    ],
                ]
            ],
            "/metrics": [
                "get": [
                    "operationId": "metrics", "tags": ["operations"], "security": [],
                    "summary": "Prometheus metrics: requests by route and status, ingest latency, commit batches, rejections.",
                    "responses": ["200": ["description": "Prometheus text format.", "content": ["text/plain": ["schema": O.string]]]],
                ]
            ],
            "/openapi.json": [
                "get": [
                    "operationId": "openAPIDocument", "tags": ["operations"], "security": [],
                    "summary": "This document.",
                    "responses": ["200": O.json("The OpenAPI document.", ["type": "object"])],
                ]
            ],
            "/api/v1/tokens": [
                "post": admin(
                    "createToken", "tokens", "Create a restaurant's token; the token is in this answer only.",
                    body: O.ref("CreateTokenRequest"),
                    ["201": O.json("Created.", O.ref("Token"))], errors: [400: "Not a JSON body with a name."]),
                "get": admin("listTokens", "tokens", "Every token (prefixes only).", ["200": O.json("The tokens.", O.ref("TokenList"))]),
            ],
            "/api/v1/tokens/{id}": [
                "get": admin(
                    "showToken", "tokens", "One token.", parameters: [O.path("id", "The token's id.")],
                    ["200": O.json("The token.", O.ref("Token"))], errors: [404: "No token with this id."])
            ],
            "/api/v1/tokens/{id}/deactivate": [
                "post": tokenChange("deactivateToken", "Stop the token from posting (within a second, on every node).")
            ],
            "/api/v1/tokens/{id}/reactivate": ["post": tokenChange("reactivateToken", "Let a deactivated token post again.")],
            "/api/v1/tokens/{id}/rotate": [
                "post": tokenChange(
                    "rotateToken", "Issue a new token value (in this answer only); the old one works for the grace period.")
            ],
            "/api/v1/events": [
                "get": admin(
                    "listEvents", "events", "A token's events, newest first, a page at a time.",
                    parameters: [O.tokenID, O.env] + eventFilters, ["200": O.json("A page of events.", O.ref("EventList"))],
                    errors: [400: "A filter that does not parse.", 404: "No token with this id."])
            ],
            "/api/v1/events/{id}": [
                "get": admin(
                    "showEvent", "events", "One event's metadata and warnings.", parameters: [O.path("id", "The event's id.")],
                    ["200": O.json("The event.", O.ref("Event"))], errors: [404: "No event with this id."])
            ],
            "/api/v1/events/{id}/raw": [
                "get": admin(
                    "rawEvent", "events", "The event's body: the exact bytes received (decompressed when sent as gzip).",
                    parameters: [O.path("id", "The event's id.")],
                    ["200": ["description": "The stored bytes.", "content": ["application/json": ["schema": [:] as [String: Any]]]]],
                    errors: [404: "No event with this id."])
            ],
            "/api/v1/export": [
                "get": admin(
                    "exportEvents", "events",
                    "Every matching event, oldest first, with its payload: NDJSON (one Event and `payload` "
                        + "a line) or CSV (the same columns).",
                    parameters: [O.tokenID, O.env] + eventFilters
                        + [O.query("format", "`ndjson` (the default) or `csv`.", ["type": "string", "enum": ["ndjson", "csv"]])],
                    [
                        "200": [
                            "description": "The export, written page by page.",
                            "content": [
                                "application/x-ndjson": ["schema": O.string], "text/csv": ["schema": O.string],
                            ],
                        ]
                    ],
                    errors: [400: "A filter that does not parse.", 404: "No token with this id."])
            ],
            "/api/v1/stream": [
                "get": admin(
                    "streamEvents", "events",
                    "Server-Sent Events: each committed event of the token and env (`data:` an Event), "
                        + "within a second; resumable with `Last-Event-ID` or `cursor`.",
                    parameters: [
                        O.tokenID, O.env, O.query("cursor", "Resume after this event (an `id:` the stream gave out).", O.string),
                        O.header("Last-Event-ID", "Resume after this event (what EventSource sends on reconnect)."),
                    ],
                    [
                        "200": [
                            "description": "The stream; a keep-alive comment every 15 s.",
                            "content": ["text/event-stream": ["schema": O.string]],
                        ]
                    ],
                    errors: [400: "A cursor this API did not give out.", 404: "No token with this id."])
            ],
            "/api/v1/sessions": [
                "get": admin(
                    "listSessions", "sessions", "The table sessions of a local day.", parameters: [O.tokenID, O.env, date],
                    ["200": O.json("The day's sessions.", O.ref("SessionList"))],
                    errors: [400: "A date that is not YYYY-MM-DD.", 404: "No token with this id."])
            ],
            "/api/v1/sessions/{order_id}": [
                "get": admin(
                    "showSession", "sessions", "One check's session.",
                    parameters: [O.path("order_id", "The POS's check id."), O.tokenID, O.env],
                    ["200": O.json("The session.", O.ref("Session"))],
                    errors: [400: "No token_id, or an unknown env.", 404: "No such token, or no session for the order."])
            ],
            "/api/v1/analytics": [
                "get": admin(
                    "analytics", "analytics", "A local day's analytics: turnover, staff, revenue by hour, service timing, data quality.",
                    parameters: [O.tokenID, O.env, date], ["200": O.json("The day's analytics.", O.ref("Analytics"))],
                    errors: [400: "A date that is not YYYY-MM-DD.", 404: "No token with this id."])
            ],
            "/api/v1/rejections": [
                "get": admin(
                    "listRejections", "events", "Requests refused for a known token, newest first (a flood kept as counts).",
                    parameters: [O.tokenID, O.env, O.query("limit", "At most this many (1 to 1000; 100 by default).", O.integer)],
                    ["200": O.json("The rejections.", O.ref("RejectionList"))], errors: [400: "An unknown env."])
            ],
        ]
    }

    /// The webhook: POST, and 405 for every other method.
    static var webhook: [String: Any] {
        var item: [String: Any] = [
            "post": [
                "operationId": "postEvent", "tags": ["webhook"], "security": [],
                "summary": "Receive one POS event. 200 only once it is on disk; warnings tell the sender what is wrong with its data.",
                "parameters": [
                    O.path("token", "The restaurant's webhook token (a UUID), in the path."),
                    O.query("env", "`prod` (the default) or `dev`.", O.environment),
                    O.header("Idempotency-Key", "The dedup key (else X-Request-ID, else the body's SHA-256), kept 72 h."),
                    O.header("X-Request-ID", "Echoed in the answer; a dedup key when there is no Idempotency-Key."),
                    O.header(
                        "Content-Encoding", "`gzip` for a compressed body (10 MiB limit after decompression).",
                        ["type": "string", "enum": ["identity", "gzip", "x-gzip"]]),
                ],
                "requestBody": [
                    "required": true, "description": "Any JSON; its exact bytes are stored (docs/contract.md §2).",
                    "content": ["application/json": ["schema": O.ref("PosEvent")]],
                ],
                "responses": ["200": O.json("Stored (or a repeat of a stored event).", O.ref("IngestAnswer"))].merging(
                    O.errors([
                        400: "Invalid JSON, an invalid gzip body, or an unknown env.",
                        401: "Invalid or inactive webhook token.",
                        408: "The body did not arrive within 30 s.",
                        413: "Over 10 MiB (decompressed).",
                        415: "A Content-Encoding other than gzip.",
                        429: "Over the token's rate limit, or too many unknown tokens from this address.",
                        503: "Storage unavailable, or too many large bodies in flight: retry.",
                    ])
                ) { first, _ in first },
            ] as [String: Any]
        ]
        for method in ["get", "put", "delete", "patch", "head"] {
            item[method] =
                [
                    "operationId": "\(method)EventNotAllowed", "tags": ["webhook"], "security": [],
                    "summary": "Only POST: 405 with `Allow: POST`.",
                    "parameters": [O.path("token", "The webhook token.")],
                    "responses": [
                        "405": O.json(
                            "Use POST.", O.ref("Error"),
                            headers: [
                                "Allow": ["description": "POST", "schema": O.string]
                            ])
                    ],
                ] as [String: Any]
        }
        return item
    }

    /// An admin operation: the admin key, its 401 and 503, and `errors`.
    static func admin(
        _ operationID: String, _ tag: String, _ summary: String, parameters: [[String: Any]] = [],
        body: [String: Any]? = nil, _ responses: [String: Any], errors: [Int: String] = [:]
    ) -> [String: Any] {
        var operation: [String: Any] = [
            "operationId": operationID, "tags": [tag], "summary": summary, "security": O.adminOnly,
            "responses": responses.merging(O.errors(O.adminErrors.merging(errors) { $1 })) { first, _ in first },
        ]
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let body { operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": body]]] }
        return operation
    }

    static func tokenChange(_ operationID: String, _ summary: String) -> [String: Any] {
        admin(
            operationID, "tokens", summary, parameters: [O.path("id", "The token's id.")],
            ["200": O.json("The token as it is now.", O.ref("Token"))], errors: [404: "No token with this id."])
    }

    static var date: [String: Any] {
        O.query("date", "The restaurant's local day, YYYY-MM-DD (today there by default).", ["type": "string", "format": "date"])
    }

    /// The filters `/api/v1/events` and `/api/v1/export` share.
    static var eventFilters: [[String: Any]] {
        [
            O.query("event", "Only this event type.", O.string),
            O.query("table", "Only this table.", O.string),
            O.query("order_id", "Only this check.", O.string),
            O.query("has_warnings", "Only events with (true) or without (false) warnings.", ["type": "boolean"]),
            O.query("since", "Received at or after this time (RFC 3339).", ["type": "string", "format": "date-time"]),
            O.query("until", "Received before this time (RFC 3339).", ["type": "string", "format": "date-time"]),
            O.query("cursor", "The `next_cursor` of the previous page.", O.string),
            O.query("limit", "Events per page, 1 to 1000.", ["type": "integer", "minimum": 1, "maximum": 1000]),
        ]
    }
}
