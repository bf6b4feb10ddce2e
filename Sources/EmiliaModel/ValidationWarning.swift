/// The stable codes of the warnings Emilia answers with (docs/contract.md §2).
public enum WarningCode: String, Sendable, CaseIterable, Codable, Comparable {
    case missingTableNumber = "missing_table_number"
    case tableAlias = "table_alias"
    case missingOrderID = "missing_order_id"
    case missingTimestamp = "missing_timestamp"
    case invalidTimestamp = "invalid_timestamp"
    case naiveTimestamp = "naive_timestamp"
    case offsetMismatch = "offset_mismatch"
    case tableNameInconsistent = "table_name_inconsistent"
    case itemMissingTimestamp = "item_missing_timestamp"
    case itemMissingEmployee = "item_missing_employee"
    case totalsMismatch = "totals_mismatch"
    case sessionEndBeforeStart = "session_end_before_start"
    case unknownEvent = "unknown_event"
    case notAnObject = "not_an_object"
    case contentType = "content_type"
    case amountOutOfRange = "amount_out_of_range"
    case timestampOutOfRange = "timestamp_out_of_range"
    case sessionTooLong = "session_too_long"
    case tooManyItems = "too_many_items"

    public static func < (lhs: WarningCode, rhs: WarningCode) -> Bool { lhs.rawValue < rhs.rawValue }

    /// One sentence on how an integrator fixes the cause.
    public var remedy: String {
        switch self {
        case .missingTableNumber:
            return "Send table_number (e.g. \"Mesa 8\") on every event: without it the event cannot be tied to a table."
        case .tableAlias: return "Rename the field `table` to `table_number`."
        case .missingOrderID: return "Send the POS check id as order_id: it ties a session's events together."
        case .missingTimestamp: return "Send timestamp (RFC 3339 with the restaurant's offset) with every event."
        case .invalidTimestamp: return "Write times as RFC 3339, e.g. 2025-11-24T18:30:00-03:00."
        case .naiveTimestamp: return "Add the UTC offset to every time, e.g. -03:00 for São Paulo."
        case .offsetMismatch: return "Write times in the restaurant's own time zone, not UTC or the server's zone."
        case .tableNameInconsistent: return "Use one table naming scheme everywhere (e.g. always \"Mesa N\")."
        case .itemMissingTimestamp: return "Give each item the time it was ordered, so service timing can be measured."
        case .itemMissingEmployee: return "Give each item the employee_id of who took the order, for staff performance."
        case .totalsMismatch: return "Check that items add up to subtotal and subtotal + tip + tax − discount equals total."
        case .sessionEndBeforeStart: return "session_end must come after session_start: check the clock and the offset."
        case .unknownEvent: return "Use one of session_opened, items_added, session_complete (or connection_test)."
        case .notAnObject: return "Send one JSON object per request, not an array or a bare value."
        case .contentType: return "Send the header Content-Type: application/json."
        case .amountOutOfRange: return "Send amounts and quantities below one trillion, as plain decimals (e.g. 19.90)."
        case .timestampOutOfRange: return "Check the POS clock: times must be within a day ahead of now and ten years back."
        case .sessionTooLong: return "Close checks when the table leaves: a session longer than a day is counted as one day."
        case .tooManyItems: return "Send at most 1,000 item lines per check; split bulk data into separate checks."
        }
    }
}

/// A problem found in a payload that was still accepted: the code, the JSON path, a sentence.
public struct ValidationWarning: Sendable, Hashable, Codable {
    /// The stable code, e.g. `missing_table_number`.
    public var code: WarningCode
    /// The JSON path of the field, e.g. `items[2].timestamp`; empty for the whole document.
    public var field: String
    /// A sentence for a person.
    public var message: String

    public init(code: WarningCode, field: String, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }
}
