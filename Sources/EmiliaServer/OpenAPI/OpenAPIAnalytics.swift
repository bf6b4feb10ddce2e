/// The `Analytics` schema: `AnalyticsResponse`'s shape.
enum OpenAPIAnalytics {
    typealias O = OpenAPI
    typealias S = OpenAPISchemas

    static var schema: [String: Any] {
        let seconds: [String: Any] = ["type": "integer", "description": "Seconds; absent when there is nothing to measure."]
        return S.object(
            [
                "token_id": O.string, "env": O.environment, "date": ["type": "string", "format": "date"], "timezone": O.string,
                "turnover": S.object(
                    [
                        "sessions_closed": O.integer, "sessions_open": O.integer,
                        "median_duration_seconds": seconds, "mean_duration_seconds": seconds,
                        "per_table": [
                            "type": "array",
                            "items": S.object(
                                ["table_number": O.string, "sessions": O.integer, "occupied_seconds": O.integer],
                                required: ["table_number", "sessions", "occupied_seconds"], nil),
                        ],
                    ], required: ["sessions_closed", "sessions_open", "per_table"], "Table turnover."),
                "staff": [
                    "type": "array",
                    "items": S.object(
                        [
                            "employee_id": S.posID(nullable: false), "name": O.string, "sessions_opened": O.integer,
                            "sessions_closed": O.integer,
                            "item_lines": O.integer, "items_quantity": S.money, "sales": S.money, "tips": S.money,
                        ],
                        required: ["employee_id", "sessions_opened", "sessions_closed", "item_lines", "items_quantity", "sales", "tips"],
                        "One employee's day."),
                ],
                "revenue_by_hour": [
                    "type": "array",
                    "items": S.object(
                        ["hour": ["type": "integer", "minimum": 0, "maximum": 23], "revenue": S.money, "sessions": O.integer],
                        required: ["hour", "revenue", "sessions"], nil),
                ],
                "revenue": S.object(["total": S.money, "average_ticket": S.money], required: ["total"], nil),
                "service_timing": S.object(
                    ["median_first_item_seconds": seconds, "median_round_gap_seconds": seconds],
                    required: [], "Service timing."),
                "data_quality": S.object(
                    [
                        "events": O.integer, "events_with_warnings": O.integer,
                        "warnings": ["type": "object", "additionalProperties": O.integer, "description": "Events by warning code."],
                        "rejections": ["type": "object", "additionalProperties": O.integer, "description": "Refusals by HTTP status."],
                        "examples": ["type": "object", "additionalProperties": O.string, "description": "An event id per warning code."],
                        "warnings_sampled": ["type": "boolean"], "unfolded_events": O.integer, "unfolded_reason": O.string,
                    ],
                    required: [
                        "events", "events_with_warnings", "warnings", "rejections", "examples", "warnings_sampled", "unfolded_events",
                    ],
                    "Data quality."),
            ],
            required: [
                "token_id", "env", "date", "timezone", "turnover", "staff", "revenue_by_hour", "revenue", "service_timing",
                "data_quality",
            ], "A local day's analytics.")
    }
}
