import EmiliaModel
import Foundation
import Testing

private let saoPaulo = TimeZone(identifier: "America/Sao_Paulo")!

private func codes(_ json: String, zone: TimeZone = saoPaulo, style: String? = nil, contentTypeIsJSON: Bool = true) throws -> [String] {
    let document = try JSONParser.parse(Array(json.utf8))
    let context = ValidationContext(
        timeZone: zone, tableStyle: style.map(TableNamingStyle.init(pattern:)),
        contentTypeIsJSON: contentTypeIsJSON)
    return PayloadValidator.validate(document, context: context).warnings.map(\.code.rawValue)
}

@Suite("Validator on the shared fixtures", .timeLimit(.minutes(3)))
struct FixtureValidationTests {
    @Test(arguments: [
        ("session_opened.json", [String]()),
        ("items_added.json", []),
        ("session_complete.json", []),
        ("session_complete_minimal.json", []),
        ("missing_table_number.json", ["missing_table_number"]),
        ("naive_timestamp.json", ["naive_timestamp"]),
        ("utc_offset_in_sao_paulo.json", ["offset_mismatch"]),
        ("table_alias.json", ["table_alias"]),
        ("totals_mismatch.json", ["totals_mismatch"]),
        ("order_created_v1.json", ["table_alias"]),
        ("connection_test.json", []),
        ("not_an_object.json", ["not_an_object"]),
    ])
    func fixtureWarnings(file: String, expected: [String]) throws {
        let document = try JSONParser.parse(try Fixtures.bytes(file))
        let report = PayloadValidator.validate(document, context: ValidationContext(timeZone: saoPaulo))
        #expect(report.warnings.map(\.code.rawValue) == expected)
    }

    @Test func invalidJSONFixtureIsRejectedWithOffset() throws {
        let bytes = try Fixtures.bytes("invalid_json.txt")
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
        do {
            _ = try JSONParser.parse(bytes)
        } catch {
            #expect(error.reason == "unexpected end of input")
            #expect(error.offset == bytes.count)
        }
    }

    @Test func summaryReadsAliasesAndNumbers() throws {
        let order = try JSONParser.parse(try Fixtures.bytes("order_created_v1.json"))
        let report = PayloadValidator.validate(order, context: ValidationContext(timeZone: saoPaulo))
        #expect(report.summary.kind == .sessionOpened)
        #expect(report.summary.tableNumber == "Mesa 8")
        #expect(report.summary.orderID == "ORD-2025-0124")
        let numeric = try JSONParser.parse(
            Array(#"{"event":"order_closed","order_id":1234,"table_number":"Mesa 1","timestamp":"2025-11-24T18:00:00-03:00"}"#.utf8))
        let closed = PayloadValidator.validate(numeric, context: ValidationContext(timeZone: saoPaulo))
        #expect(closed.summary.kind == .sessionComplete)
        #expect(closed.summary.orderID == "1234")
        #expect(closed.summary.occurredAt == Date(timeIntervalSince1970: 1_764_018_000))
        #expect(closed.warnings.isEmpty)
    }
}

@Suite("Validator rules", .timeLimit(.minutes(3)))
struct ValidationRuleTests {
    static let opened = #""event":"session_opened","order_id":"A1","table_number":"Mesa 2""#

    @Test(arguments: [
        (#"{"event":"session_opened","order_id":"A1","table_number":"Mesa 2","timestamp":"2025-11-24T18:30:00-03:00"}"#, [String]()),
        (#"{"event":"session_opened","order_id":"A1","table_number":"Mesa 2"}"#, ["missing_timestamp"]),
        (#"{"event":"session_opened","order_id":"A1","table_number":"Mesa 2","timestamp":"24/11/2025 18:30"}"#, ["invalid_timestamp"]),
        (#"{"event":"session_opened","order_id":"A1","table_number":"Mesa 2","timestamp":1732480200}"#, ["invalid_timestamp"]),
        (
            #"{"event":"session_opened","order_id":"A1","table_number":"Mesa 2","timestamp":"2025-02-30T18:30:00-03:00"}"#,
            ["invalid_timestamp"]
        ),
        (#"{"event":"session_opened","order_id":"A1","table_number":"Mesa 2","timestamp":"2025-11-24T18:30:00Z"}"#, ["offset_mismatch"]),
        (#"{"event":"session_opened","order_id":"A1","table_number":"Mesa 2","timestamp":"2025-11-24T18:30:00.250-0300"}"#, []),
        (#"{"event":"session_opened","table_number":"Mesa 2","timestamp":"2025-11-24T18:30:00-03:00"}"#, ["missing_order_id"]),
        (
            #"{"event":"session_opened","order_id":"","table_number":"Mesa 2","timestamp":"2025-11-24T18:30:00-03:00"}"#,
            ["missing_order_id"]
        ),
        (
            #"{"event":"session_opened","order_id":"A1","table_number":"  ","timestamp":"2025-11-24T18:30:00-03:00"}"#,
            ["missing_table_number"]
        ),
        (#"{"event":"refund","order_id":"A1","timestamp":"2025-11-24T18:30:00-03:00"}"#, ["unknown_event"]),
        (#"{"order_id":"A1","timestamp":"2025-11-24T18:30:00-03:00"}"#, ["unknown_event"]),
        (#"{"event":"diagnostic_test"}"#, [String]()),
        (#"{"event":"test","timestamp":"2025-11-24T18:30:00"}"#, ["naive_timestamp"]),
        ("\"just a string\"", ["not_an_object"]),
        ("42", ["not_an_object"]),
    ])
    func topLevelRules(json: String, expected: [String]) throws {
        #expect(try codes(json) == expected)
    }

    @Test func sessionEndBeforeStart() throws {
        let json =
            #"{"event":"session_complete","order_id":"A1","table_number":"Mesa 2","timestamp":"2025-11-24T20:00:00-03:00","session_start":"2025-11-24T20:00:00-03:00","session_end":"2025-11-24T19:00:00-03:00"}"#
        #expect(try codes(json) == ["session_end_before_start"])
    }

    @Test func itemRulesApplyToItemsAddedAndComplete() throws {
        let json =
            #"{"event":"items_added","order_id":"A1","table_number":"Mesa 2","timestamp":"2025-11-24T20:00:00-03:00","items":[{"name":"Pasta","price":85.00},{"name":"Vinho","price":40,"timestamp":"2025-11-24T20:00:00"},{"name":"Agua","price":5,"timestamp":"2025-11-24T20:00:00-03:00","employee_id":7}]}"#
        let document = try JSONParser.parse(Array(json.utf8))
        let report = PayloadValidator.validate(document, context: ValidationContext(timeZone: saoPaulo))
        #expect(report.warnings.map(\.code.rawValue) == ["item_missing_timestamp", "item_missing_employee", "naive_timestamp"])
        #expect(report.warnings[0].field == "items[0].timestamp")
        #expect(report.warnings[1].message.contains("2 items in all"))
        #expect(report.warnings[2].field == "items[1].timestamp")
    }

    @Test func totalsUseExactDecimalsAndDiscount() throws {
        let base = #""event":"session_complete","order_id":"A1","table_number":"Mesa 2","timestamp":"2025-11-24T20:00:00-03:00""#
        let items =
            #""items":[{"timestamp":"2025-11-24T19:00:00-03:00","employee_id":1,"name":"A","quantity":3,"price":0.10},{"timestamp":"2025-11-24T19:00:00-03:00","employee_id":1,"name":"B","price":0.20}]"#
        #expect(try codes("{\(base),\(items),\"totals\":{\"subtotal\":0.50,\"tip\":0.05,\"tax\":0.05,\"total\":0.60}}") == [])
        #expect(try codes("{\(base),\(items),\"totals\":{\"subtotal\":0.50,\"tip\":1,\"tax\":1,\"discount\":0.5,\"total\":2.00}}") == [])
        #expect(try codes("{\(base),\(items),\"totals\":{\"subtotal\":0.50,\"tip\":1,\"tax\":1,\"total\":2.00}}") == ["totals_mismatch"])
        #expect(try codes("{\(base),\(items),\"totals\":{\"subtotal\":0.52}}") == ["totals_mismatch"])
        #expect(try codes("{\(base),\(items),\"totals\":{\"subtotal\":0.505}}") == [])
    }

    @Test func offsetMismatchFollowsDaylightSavingTime() throws {
        let newYork = TimeZone(identifier: "America/New_York")!
        let event = #"{"event":"session_opened","order_id":"A1","table_number":"Mesa 2","timestamp":"#
        #expect(try codes(event + #""2025-07-04T19:00:00-04:00"}"#, zone: newYork) == [])
        #expect(try codes(event + #""2025-07-04T19:00:00-05:00"}"#, zone: newYork) == ["offset_mismatch"])
        #expect(try codes(event + #""2025-01-04T19:00:00-05:00"}"#, zone: newYork) == [])
        // São Paulo kept summer time until 2019: -02:00 was right in December 2018, wrong in 2025.
        #expect(try codes(event + #""2018-12-01T19:00:00-02:00"}"#) == [])
        #expect(try codes(event + #""2025-12-01T19:00:00-02:00"}"#) == ["offset_mismatch"])
    }

    @Test func tableNamingAgainstTheRestaurantStyle() throws {
        let event = #"{"event":"session_opened","order_id":"A1","timestamp":"2025-11-24T18:30:00-03:00","table_number":"#
        #expect(try codes(event + #""Mesa 12"}"#, style: "mesa #") == [])
        #expect(try codes(event + #""mesa  104"}"#, style: "mesa #") == [])
        #expect(try codes(event + #""Table 12"}"#, style: "mesa #") == ["table_name_inconsistent"])
        #expect(try codes(event + #""M-104"}"#, style: "mesa #") == ["table_name_inconsistent"])
        #expect(try codes(event + #""Table 12"}"#) == [])
        #expect(TableNamingStyle(tableName: "Mesa 8")?.pattern == "mesa #")
        #expect(TableNamingStyle(tableName: "Balcão") == nil)
    }

    @Test func contentTypeWarning() throws {
        let json = #"{"event":"connection_test","timestamp":"2025-11-24T18:30:00-03:00"}"#
        #expect(try codes(json, contentTypeIsJSON: false) == ["content_type"])
    }

    @Test func everyWarningCodeHasARemedy() {
        for code in WarningCode.allCases { #expect(!code.remedy.isEmpty) }
    }
}
