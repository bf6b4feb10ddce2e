import EmiliaModel
import Foundation

/// The document's `components`: every request and answer body's schema, and the admin key's security scheme.
enum OpenAPISchemas {
    typealias O = OpenAPI

    static var securitySchemes: [String: Any] {
        [
            "adminKey": [
                "type": "http", "scheme": "bearer",
                "description": "The admin key the server was started with (EMILIA_ADMIN_KEY): `Authorization: Bearer <key>`.",
            ]
        ]
    }

    static var all: [String: Any] {
        [
            "Error": object(
                ["detail": O.string, "hint": O.string], required: ["detail"],
                "Every error answer: `detail` says what is wrong; `hint`, when present, what to do."),
            "IngestAnswer": object(
                [
                    "status": ["type": "string", "const": "received"], "event_id": O.string,
                    "received_at": dateTime, "env": O.environment, "duplicate": ["type": "boolean"], "warnings": warnings,
                ], required: ["status", "event_id", "received_at", "env", "duplicate", "warnings"],
                "The webhook's 200: the stored event's id (the first copy's for a repeat) and what is wrong with its data."),
            "Warning": object(
                [
                    "code": ["type": "string", "enum": WarningCode.allCases.map(\.rawValue)],
                    "field": ["type": "string", "description": "The JSON path, e.g. items[2].timestamp; empty for the whole body."],
                    "message": O.string,
                ], required: ["code", "field", "message"], "Something wrong with an accepted event's data."),
            "PosEvent": [
                "description": "A POS event (docs/contract.md §2). Any JSON is accepted and stored; what is missing or wrong "
                    + "comes back as warnings.",
                "type": "object",
                "properties": [
                    "event": ["type": "string", "examples": ["session_opened", "items_added", "session_complete", "connection_test"]],
                    "order_id": ["type": ["string", "number"]], "table_number": O.string, "timestamp": dateTime,
                    "session_start": dateTime, "session_end": dateTime, "guests": O.integer,
                ],
            ] as [String: Any],
            "Health": object(
                [
                    "status": ["type": "string", "enum": ["ok", "error"]],
                    "storage": ["type": "string", "enum": ["ok", "unavailable"]],
                    "version": O.string, "detail": O.string,
                ], required: ["status", "storage", "version"], nil),
            "CreateTokenRequest": object(
                ["name": O.string, "timezone": ["type": "string", "description": "IANA zone; America/Sao_Paulo by default."]],
                required: ["name"], nil),
            "Token": object(
                [
                    "id": O.string, "name": O.string, "timezone": O.string, "status": ["type": "string", "enum": ["active", "inactive"]],
                    "prefix": ["type": "string", "description": "The token's first 8 characters: all that is kept of it in the clear."],
                    "created_at": dateTime,
                    "token": ["type": "string", "description": "The token itself: only in the answers to create and rotate."],
                    "webhook_path": ["type": "string", "description": "Where to post, with the token: only beside `token`."],
                ], required: ["id", "name", "timezone", "status", "prefix", "created_at"], "A restaurant's webhook token."),
            "TokenList": object(["tokens": ["type": "array", "items": O.ref("Token")]], required: ["tokens"], nil),
            "Event": object(
                eventProperties, required: Array(eventProperties.keys),
                "An event as every read shows it (the export adds `payload`, the original JSON)."),
            "EventList": object(
                ["events": ["type": "array", "items": O.ref("Event")], "next_cursor": nullable(O.string)],
                required: ["events"], "A page of events; `next_cursor` fetches the next one."),
            "Rejection": object(
                [
                    "at": dateTime, "env": nullable(O.environment), "status": O.integer, "reason": O.string,
                    "request_id": O.string, "body_preview": O.string,
                    "count": ["type": "integer", "description": "Refusals this record stands for."],
                ], required: ["at", "status", "reason", "count"], "A refused request of a known token."),
            "RejectionList": object(["rejections": ["type": "array", "items": O.ref("Rejection")]], required: ["rejections"], nil),
            "Session": object(sessionProperties, required: Array(sessionProperties.keys), "A check's table session."),
            "SessionList": object(["sessions": ["type": "array", "items": O.ref("Session")]], required: ["sessions"], nil),
            "ItemLine": object(
                [
                    "timestamp": nullable(dateTime), "employee_id": posID(nullable: true), "name": O.string,
                    "quantity": money, "price": money,
                ],
                required: ["timestamp", "employee_id", "name", "quantity", "price"], "One dish ordered."),
            "StaffMember": object(["id": posID(nullable: false), "name": O.string], required: ["id"], nil),
            "CheckTotals": object(["subtotal": money, "tip": money, "tax": money, "discount": money, "total": money], required: [], nil),
            "Analytics": OpenAPIAnalytics.schema,
        ]
    }

    static var dateTime: [String: Any] { ["type": "string", "format": "date-time"] }
    static var money: [String: Any] { ["type": "number", "description": "Currency units, exact decimals."] }
    static var warnings: [String: Any] { ["type": "array", "items": O.ref("Warning")] }

    /// An id of the JSON type the POS sent it as: an integer stays an integer, a string a string.
    static func posID(nullable: Bool) -> [String: Any] {
        [
            "type": ["string", "number"] + (nullable ? ["null"] : []),
            "description": "As the POS sent it: a number comes back as a number, a string as a string.",
        ]
    }

    static func nullable(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        if let type = schema["type"] as? String { schema["type"] = [type, "null"] }
        if let values = schema["enum"] as? [String] { schema["enum"] = values.map { $0 as Any } + [NSNull()] }
        return schema
    }

    static func object(_ properties: [String: Any], required: [String], _ description: String?) -> [String: Any] {
        var schema: [String: Any] = ["type": "object", "properties": properties, "required": required.sorted()]
        if let description { schema["description"] = description }
        return schema
    }

    static var eventProperties: [String: Any] {
        [
            "event_id": O.string, "token_id": O.string, "env": O.environment, "received_at": dateTime,
            "event": ["type": "string", "description": "The payload's `event`."], "is_test": ["type": "boolean"],
            "order_id": posID(nullable: true), "table_number": nullable(O.string), "occurred_at": nullable(dateTime),
            "request_id": nullable(O.string), "content_type": nullable(O.string),
            "content_encoding": ["type": ["string", "null"], "description": "`gzip` when the body came compressed."],
            "size_bytes": O.integer, "warnings": warnings,
        ]
    }

    static var sessionProperties: [String: Any] {
        [
            "order_id": posID(nullable: false), "table_number": nullable(O.string),
            "status": ["type": "string", "enum": ["open", "closed"]],
            "opened_at": nullable(dateTime), "closed_at": nullable(dateTime), "duration_seconds": nullable(O.integer),
            "first_item_seconds": nullable(O.integer), "round_gaps_seconds": ["type": "array", "items": O.integer],
            "guests": nullable(O.integer), "opened_by": ["oneOf": [O.ref("StaffMember"), ["type": "null"]]],
            "closed_by": ["oneOf": [O.ref("StaffMember"), ["type": "null"]]], "items": ["type": "array", "items": O.ref("ItemLine")],
            "totals": ["oneOf": [O.ref("CheckTotals"), ["type": "null"]]], "event_ids": ["type": "array", "items": O.string],
        ]
    }
}
