/// Payload fields read under one rule wherever they are read: by the validator (the event's summary) and by the
/// fold (its session), so an event and its session never disagree.
public enum PayloadFields {
    /// `table_number` (a string, or a number's text), else its alias `table`, also when `table_number` is null.
    /// `fromAlias` is true when the value came from `table`.
    public static func table(in document: JSONValue) -> (value: String?, fromAlias: Bool) {
        if let table = document["table_number"]?.scalarText { return (table, false) }
        if let alias = document["table"]?.scalarText { return (alias, true) }
        return (nil, false)
    }

    /// `order_id` (a string, or a number's digits as written), and whether it came as a JSON number.
    public static func orderID(in document: JSONValue) -> (value: String?, isNumber: Bool) {
        let field = document["order_id"]
        if case .number? = field { return (field?.scalarText, true) }
        return (field?.scalarText, false)
    }
}
