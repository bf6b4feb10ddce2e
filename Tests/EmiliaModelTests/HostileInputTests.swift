import EmiliaModel
import Foundation
import Testing

private let saoPaulo = TimeZone(identifier: "America/Sao_Paulo")!
private let received = Date(timeIntervalSince1970: 1_764_100_000)  // 2025-11-25T19:46:40Z

private func report(_ json: String, receivedAt: Date? = received) throws -> PayloadReport {
    PayloadValidator.validate(
        try JSONParser.parse(Array(json.utf8)), context: ValidationContext(timeZone: saoPaulo, receivedAt: receivedAt))
}

private func facts(_ json: String, id: String = "e1") throws -> SessionFacts {
    try #require(SessionFacts(eventID: id, receivedAt: received, document: try JSONParser.parse(Array(json.utf8)), timeZone: saoPaulo))
}

@Suite("Hostile input: amounts, times and sizes never trap and cost bounded work", .timeLimit(.minutes(3)))
struct HostileInputTests {
    @Test(arguments: [
        "922337203685477.58076", "922337203685477.5807", "9223372036854775807", "1e39", "-1e13",
        "1000000000000", "99999999999999999999999999999999",
    ])
    func amountsBeyondTheLimitReadAsOutOfRange(text: String) {
        #expect(Money.read(text) == .outOfRange)
        #expect(Money(text) == nil)
    }

    @Test func amountsWithinTheLimitReadExactly() {
        #expect(Money("999999999999.9999")?.units == 9_999_999_999_999_999)
        #expect(Money("19.00005")?.units == 190_000)  // half to even
        #expect(Money("19.00015")?.units == 190_002)
        #expect(Money("1e-9223372036854775808") == Money.zero)
        #expect(Money("1e-50") == Money.zero)
        #expect(Money("0e999999999") == Money.zero)
        #expect(Money.read("1e") == .invalid)
        #expect(Money.read("--1") == .invalid)
        #expect(Money("-3.5")?.units == -35_000)
    }

    @Test func arithmeticSaturatesInsteadOfTrapping() {
        let top = Money(units: .max)
        let bottom = Money(units: .min)
        #expect((top + Money(units: 1)).units == .max)
        #expect((bottom - Money(units: 1)).units == .min)
        #expect((Money(units: 1) * top).units == 922_337_203_685_478)  // 0.0001 × max, rounded
        #expect((Money(1) * top).units == .max)
        #expect((Money(-2) * top).units == .min)
        #expect(top.adding(Money(units: 1)) == nil)
        // Both within range; the 128-bit quotient is 2^64 − 1 with a remainder that rounds up (found in review).
        #expect(Money("126960.5")!.multiplied(by: Money("14529514355.8111")!) == nil)
        #expect((Money("126960.5")! * Money("14529514355.8111")!).units == .max)
        // A product of exactly Int64.max units fits (found by the fuzzer).
        #expect(Money(units: -10_000).multiplied(by: Money(units: -9_223_372_036_854_775_807))?.units == .max)
        #expect(Money(10).multiplied(by: top) == nil)
        #expect(top.description == "922337203685477.58")
        #expect(bottom.description == "-922337203685477.58")
        #expect(Money(units: -40).description == "0.00")
        #expect(Money(units: -50).description == "-0.01")
        #expect(bottom.magnitude.units == .max)
    }

    @Test func outOfRangeAmountsAreNamedAndLeftOutOfTheSums() throws {
        let result = try report(
            #"""
            {"event":"session_complete","order_id":"A","table_number":"Mesa 1","timestamp":"2025-11-25T16:00:00-03:00",
             "items":[{"name":"Água","timestamp":"2025-11-25T16:00:00-03:00","employee_id":1,"quantity":1,"price":"922337203685477.58076"},
                      {"name":"Pão","timestamp":"2025-11-25T16:00:00-03:00","employee_id":1,"quantity":"999999999999","price":"999999999999"}],
             "totals":{"subtotal":922337203685477.58076,"tip":1,"tax":1,"total":3}}
            """#)
        #expect(result.warnings.map(\.code) == [.amountOutOfRange, .amountOutOfRange])
        #expect(result.warnings.map(\.field) == ["items[0].price", "totals.subtotal"])
        #expect(result.warnings[0].message.hasSuffix("(2 items in all)"))
        let session = try #require(
            SessionFolding.fold([
                try facts(
                    #"""
                    {"event":"session_complete","order_id":"A","table_number":"Mesa 1","total":"922337203685477.58076",
                     "items":[{"name":"Água","quantity":1,"price":"922337203685477.5807"},{"name":"Pão","quantity":2,"price":"3.50"}]}
                    """#)
            ]))
        #expect(session.totals == nil)
        #expect(session.items.map(\.name) == ["Pão"])
        #expect(session.revenue == Money("7.00"))
        let topLevel = try report(
            #"{"event":"session_complete","order_id":"B","table_number":"Mesa 1","timestamp":"2025-11-25T16:00:00-03:00","total":1e20}"#)
        #expect(topLevel.warnings.map(\.code) == [.amountOutOfRange])
    }

    @Test func revenueOfChecksNearTheLimitAddsUpExactly() throws {
        let sessions = try (0..<5).map { index in
            try #require(
                SessionFolding.fold([
                    try facts(
                        #"{"event":"session_complete","order_id":"O\#(index)","table_number":"Mesa 1","timestamp":"2025-11-25T20:00:00-03:00","session_start":"2025-11-25T19:00:00-03:00","total":"999999999999.99"}"#,
                        id: "e\(index)")
                ]))
        }
        let analytics = DayAnalytics(sessions: sessions, timeZone: saoPaulo)
        #expect(analytics.revenueTotal == Money(units: 49_999_999_999_999_500))
        #expect(analytics.averageTicket == Money("999999999999.99"))
    }

    @Test func timesFarFromArrivalAndLongSessionsAreNamed() throws {
        let future = try report(
            #"{"event":"session_complete","order_id":"A","table_number":"Mesa 1","timestamp":"2025-11-25T16:00:00-03:00","session_start":"2025-11-25T15:00:00-03:00","session_end":"9999-12-31T23:00:00-03:00"}"#
        )
        #expect(future.warnings.map(\.code) == [.timestampOutOfRange, .sessionTooLong])
        #expect(future.warnings[0].field == "session_end")
        let past = try report(#"{"event":"session_opened","order_id":"A","table_number":"Mesa 1","timestamp":"1970-01-01T00:00:00Z"}"#)
        #expect(past.warnings.map(\.code) == [.timestampOutOfRange, .offsetMismatch])
        let sameEventWithoutArrival = try report(
            #"{"event":"session_opened","order_id":"A","table_number":"Mesa 1","timestamp":"1970-01-01T00:00:00-03:00"}"#,
            receivedAt: nil)
        #expect(sameEventWithoutArrival.warnings.isEmpty)
        let nearby = try report(
            #"{"event":"session_opened","order_id":"A","table_number":"Mesa 1","timestamp":"2025-11-26T16:00:00-03:00"}"#)
        #expect(nearby.warnings.isEmpty, "a few hours ahead is a clock skew, not a far future")
    }

    @Test func analyticsClampSessionsToADay() throws {
        let session = try #require(
            SessionFolding.fold([
                try facts(
                    #"{"event":"session_complete","order_id":"A","table_number":"Mesa 1","timestamp":"2025-11-25T20:00:00-03:00","session_start":"2025-11-25T19:00:00-03:00","session_end":"9999-12-31T23:00:00-03:00","items":[{"name":"Pão","timestamp":"9999-01-01T00:00:00-03:00","price":1}]}"#
                )
            ]))
        #expect(session.durationSeconds! > 86_400 * 365 * 7000)
        let analytics = DayAnalytics(sessions: [session], timeZone: saoPaulo)
        #expect(analytics.durations == [86_400])
        #expect(analytics.turnover.perTable.first?.occupiedSeconds == 86_400)
        #expect(analytics.serviceTiming.medianFirstItemSeconds == 86_400)
    }

    @Test func anEventWithAHundredThousandDistinctItemsFoldsInBoundedWork() throws {
        let items = (0..<100_000).map { #"{"name":"Item \#($0)","timestamp":"2025-11-25T19:00:00-03:00","price":1}"# }
        let json =
            #"{"event":"items_added","order_id":"A","table_number":"Mesa 1","timestamp":"2025-11-25T19:00:00-03:00","items":["#
            + items.joined(separator: ",") + "]}"
        let validation = try report(json)
        #expect(validation.warnings.map(\.code) == [.tooManyItems, .itemMissingEmployee])
        let event = try facts(json)
        #expect(event.items.count == SessionAccumulator.maximumItemLines)
        var accumulator = SessionAccumulator(orderID: "A")
        accumulator.add(event)
        accumulator.add(event)
        #expect(accumulator.session.items.count == SessionAccumulator.maximumItemLines)
        let stored = try #require(SessionAccumulator(storageText: Data(accumulator.storageText.utf8)))
        #expect(stored.session == accumulator.session)
    }

    @Test func theItemCapKeepsTheFoldOrderIndependent() throws {
        // Two events whose lines together pass the cap: the session keeps the earliest lines, in any order of arrival.
        func event(_ id: String, minutes: Range<Int>) throws -> SessionFacts {
            let items = minutes.map { minute in
                #"{"name":"Dish","timestamp":"2025-11-25T19:\#(String(format: "%02d", minute % 60)):\#(String(format: "%02d", minute / 60))-03:00","price":1}"#
            }
            return try facts(
                #"{"event":"items_added","order_id":"A","table_number":"Mesa 1","timestamp":"2025-11-25T19:00:00-03:00","items":["#
                    + items.joined(separator: ",") + "]}", id: id)
        }
        let first = try event("e1", minutes: 0..<900)
        let second = try event("e2", minutes: 600..<1500)
        let forward = try #require(SessionFolding.fold([first, second]))
        let backward = try #require(SessionFolding.fold([second, first, second]))
        #expect(forward == backward)
        #expect(forward.items.count == SessionAccumulator.maximumItemLines)
        #expect(forward.items.map(\.orderedAt) == forward.items.map(\.orderedAt).sorted { ($0 ?? .distantFuture) < ($1 ?? .distantFuture) })
    }

    @Test(
        arguments: [
            (#""table_number":null,"table":"Mesa 5""#, "Mesa 5"),
            (#""table":"Mesa 5""#, "Mesa 5"),
            (#""table_number":12,"table":"Mesa 5""#, "12"),
            (#""table_number":"Mesa 2","table":"Mesa 5""#, "Mesa 2"),
            (#""table_number":{"n":1},"table":7"#, "7"),
            (#""table_number":true"#, nil),
        ] as [(String, String?)])
    func theFoldReadsTheTableAsTheValidatorDoes(fields: String, table: String?) throws {
        let json = #"{"event":"session_opened","order_id":"A",\#(fields),"timestamp":"2025-11-25T16:00:00-03:00"}"#
        #expect(try report(json).summary.tableNumber == table)
        #expect(try facts(json).tableNumber == table)
    }

    @Test func theStoredStateSaysItsVersionAndALaterOneIsNotMisread() throws {
        var accumulator = SessionAccumulator(orderID: "A")
        accumulator.add(
            try facts(#"{"event":"session_opened","order_id":"A","table_number":"Mesa 5","timestamp":"2025-11-25T16:00:00-03:00"}"#))
        let stored = try JSONParser.parse(Data(accumulator.storageText.utf8))
        #expect(stored["v"] == .number(String(SessionAccumulator.storageVersion)))
        #expect(SessionAccumulator(storageText: Data(accumulator.storageText.utf8))?.session == accumulator.session)
        // Written before the key existed: read as version 1.
        let unversioned = #"{"o":"A","c":false,"t":{"p":1,"t":0,"e":"e1","v":"Mesa 5"}}"#
        #expect(SessionAccumulator(storageText: Data(unversioned.utf8))?.session.tableNumber == "Mesa 5")
        // From a later version: not guessed at.
        let later = #"{"v":\#(SessionAccumulator.storageVersion + 1),"o":"A","c":false}"#
        #expect(SessionAccumulator(storageText: Data(later.utf8)) == nil)
    }

    @Test func aStoredStateWithNonsenseCountsDoesNotTrap() throws {
        let text = #"{"o":"A","c":false,"i":[{"n":"Pão","q":10000,"p":10000,"k":-5},{"n":"Café","q":10000,"p":10000,"k":99999999}]}"#
        let accumulator = try #require(SessionAccumulator(storageText: Data(text.utf8)))
        #expect(accumulator.session.items.map(\.name) == Array(repeating: "Café", count: SessionAccumulator.maximumItemLines))
    }
}
