import EmiliaModel
import Foundation
import Testing

private let saoPaulo = TimeZone(identifier: "America/Sao_Paulo")!
private let received = Date(timeIntervalSince1970: 1_764_100_000)

private func facts(_ file: String, id: String) throws -> SessionFacts {
    let document = try JSONParser.parse(try Fixtures.bytes(file))
    return try #require(SessionFacts(eventID: id, receivedAt: received, document: document, timeZone: saoPaulo))
}

private func facts(json: String, id: String) throws -> SessionFacts? {
    SessionFacts(eventID: id, receivedAt: received, document: try JSONParser.parse(Array(json.utf8)), timeZone: saoPaulo)
}

/// A small deterministic generator, so shuffles are reproducible.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
}

@Suite("Session folding", .timeLimit(.minutes(3)))
struct SessionFoldingTests {
    @Test func theThreeFixturesFoldIntoOneSession() throws {
        let events = [
            try facts("session_opened.json", id: "e1"), try facts("items_added.json", id: "e2"),
            try facts("session_complete.json", id: "e3"),
        ]
        let session = try #require(SessionFolding.fold(events))
        #expect(session.orderID == "ORD-2025-0124")
        #expect(session.tableNumber == "Mesa 8")
        #expect(session.status == .closed)
        #expect(session.items.count == 5)
        #expect(session.itemsAmount == Money("413.00")!)
        #expect(session.totals?.subtotal == Money("413.00")!)
        #expect(session.totals?.total == Money("507.99")!)
        #expect(session.durationSeconds == 105 * 60)
        #expect(session.firstItemSeconds == 5 * 60)
        #expect(session.roundGapsSeconds == [27 * 60, 46 * 60])
        #expect(session.guests == 4)
        #expect(session.openedBy == StaffMember(id: "72", name: "João Silva"))
        #expect(session.closedBy == StaffMember(id: "96", name: "Maria Santos"))
        #expect(session.openedBy?.id.isNumber == true, "sent as a number, kept as one")
        #expect(session.eventIDs == ["e1", "e2", "e3"])
    }

    @Test func shuffledAndRepeatedEventSetsFoldToTheSameSession() throws {
        let base = [
            try facts("session_opened.json", id: "e1"), try facts("items_added.json", id: "e2"),
            try facts("session_complete.json", id: "e3"),
            try #require(
                try facts(
                    json:
                        #"{"event":"items_added","order_id":"ORD-2025-0124","table_number":"Mesa 8","timestamp":"2025-11-24T19:30:00-03:00","items":[{"timestamp":"2025-11-24T19:30:00-03:00","employee_id":96,"name":"Café","quantity":2,"price":6.50}]}"#,
                    id: "e4")),
        ]
        let expected = try #require(SessionFolding.fold(base))
        var random = SeededGenerator(state: 42)
        for _ in 0..<200 {
            var events = base
            // Repeat some events (a retried delivery), then shuffle (arrival order).
            for _ in 0..<Int.random(in: 0...3, using: &random) { events.append(base.randomElement(using: &random)!) }
            events.shuffle(using: &random)
            #expect(SessionFolding.fold(events) == expected)
        }
        #expect(expected.items.count == 6)
    }

    @Test func sameContentUnderTwoEventIDsCountsItemsOnce() throws {
        let first = try facts("items_added.json", id: "a")
        let again = try facts("items_added.json", id: "b")
        let session = try #require(SessionFolding.fold([first, again]))
        #expect(session.items.count == 2)
        #expect(session.status == .open)
        #expect(session.closedAt == nil)
    }

    @Test func identicalLinesInOneEventCountTwice() throws {
        let json =
            #"{"event":"items_added","order_id":"X","table_number":"Mesa 1","timestamp":"2025-11-24T19:00:00-03:00","items":[{"timestamp":"2025-11-24T19:00:00-03:00","employee_id":1,"name":"Chopp","price":12},{"timestamp":"2025-11-24T19:00:00-03:00","employee_id":1,"name":"Chopp","price":12}]}"#
        let event = try #require(try facts(json: json, id: "1"))
        let session = try #require(SessionFolding.fold([event]))
        #expect(session.items.count == 2)
        #expect(session.itemsAmount == Money(24))
    }

    @Test func endOfSessionIntegrationAloneGivesACompleteSession() throws {
        let session = try #require(SessionFolding.fold([try facts("session_complete_minimal.json", id: "m")]))
        #expect(session.status == .closed)
        #expect(session.tableNumber == "Mesa 12")
        #expect(session.durationSeconds == 55 * 60)
        #expect(session.items.isEmpty)
    }

    @Test func aliasesNumericIdsAndServerField() throws {
        let opened = try #require(
            try facts(
                json:
                    #"{"event":"order_created","order_id":991,"table":"Mesa 5","timestamp":"2025-11-24T18:00:00-03:00","server":{"id":7,"name":"Ana"}}"#,
                id: "1"))
        let closed = try #require(
            try facts(
                json:
                    #"{"event":"order_closed","order_id":"991","timestamp":"2025-11-24T19:00:00-03:00","server":{"closed_by":{"id":8,"name":"Bia"}},"totals":{"subtotal":10,"tip":1,"tax":1,"total":12}}"#,
                id: "2"))
        let session = try #require(SessionFolding.fold([opened, closed]))
        #expect(session.orderID == "991")
        #expect(session.tableNumber == "Mesa 5")
        #expect(session.openedBy?.name == "Ana")
        #expect(session.closedBy?.name == "Bia")
        #expect(session.durationSeconds == 3600)
        #expect(session.revenue == Money(12))
    }

    @Test func testsUnknownsAndOrderlessEventsAreNotSessionFacts() throws {
        #expect(try facts(json: #"{"event":"connection_test","order_id":"1"}"#, id: "t") == nil)
        #expect(try facts(json: #"{"event":"refund","order_id":"1"}"#, id: "u") == nil)
        #expect(try facts(json: #"{"event":"session_opened","table_number":"Mesa 1"}"#, id: "o") == nil)
        #expect(SessionFolding.fold([]) == nil)
    }

    @Test func storedAccumulatorContinuesTheFoldExactly() throws {
        let events = [
            try facts("session_opened.json", id: "e1"), try facts("items_added.json", id: "e2"),
            try facts("session_complete.json", id: "e3"),
        ]
        let expected = try #require(SessionFolding.fold(events))
        var random = SeededGenerator(state: 7)
        for _ in 0..<50 {
            // Fold one event at a time through the stored form, in a random order: what the projection does.
            var stored: Data?
            for event in events.shuffled(using: &random) {
                var accumulator = stored.flatMap(SessionAccumulator.init(storageText:)) ?? SessionAccumulator(orderID: event.orderID)
                accumulator.add(event)
                stored = Data(accumulator.storageText.utf8)
            }
            #expect(SessionAccumulator(storageText: try #require(stored))?.session == expected)
        }
    }

    @Test func sessionJSONRoundTrips() throws {
        let session = try #require(SessionFolding.fold([try facts("session_complete.json", id: "e3")]))
        let data = try JSONEncoder().encode(session)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""order_id":"ORD-2025-0124""#))
        #expect(text.contains(#""subtotal":413"#))
        #expect(try JSONDecoder().decode(TableSession.self, from: data) == session)
    }
}

@Suite("Day analytics", .timeLimit(.minutes(3)))
struct DayAnalyticsTests {
    @Test func figuresFromTwoSessions() throws {
        let full = try #require(
            SessionFolding.fold([
                try facts("session_opened.json", id: "e1"), try facts("items_added.json", id: "e2"),
                try facts("session_complete.json", id: "e3"),
            ]))
        let minimal = try #require(SessionFolding.fold([try facts("session_complete_minimal.json", id: "m")]))
        let open = try #require(SessionFolding.fold([try facts("table_alias.json", id: "t")]))
        let analytics = DayAnalytics(sessions: [full, minimal, open], timeZone: saoPaulo)
        #expect(analytics.turnover.sessionsClosed == 2)
        #expect(analytics.turnover.sessionsOpen == 1)
        #expect(analytics.turnover.medianDurationSeconds == (105 * 60 + 55 * 60) / 2)
        #expect(analytics.turnover.perTable.map(\.tableNumber) == ["Mesa 5", "Mesa 8", "Mesa 12"])
        #expect(analytics.revenueByHour.map(\.hour) == [20])
        #expect(analytics.revenueByHour.first?.sessions == 2)
        #expect(analytics.revenueTotal == Money("507.99")!)
        let joao = try #require(analytics.staff.first { $0.employeeID == "72" })
        #expect(joao.sessionsOpened == 1)
        #expect(joao.itemLines == 4)
        #expect(joao.sales == Money("365.00")!)
        let maria = try #require(analytics.staff.first { $0.employeeID == "96" })
        #expect(maria.sessionsClosed == 1)
        #expect(maria.tips == Money("53.69")!)
        #expect(maria.sales == Money("48.00")!)
        #expect(analytics.serviceTiming.medianFirstItemSeconds == 300)
    }

    @Test func localDayBoundsFollowTheZone() throws {
        let (start, end) = try #require(LocalDay.bounds(of: "2025-11-24", in: saoPaulo))
        #expect(start == Date(timeIntervalSince1970: 1_763_953_200))
        #expect(end.timeIntervalSince(start) == 86_400)
        #expect(LocalDay.of(Date(timeIntervalSince1970: 1_764_039_599), in: saoPaulo) == "2025-11-24")
        #expect(LocalDay.of(Date(timeIntervalSince1970: 1_764_039_600), in: saoPaulo) == "2025-11-25")
        #expect(LocalDay.bounds(of: "yesterday", in: saoPaulo) == nil)
    }
}

@Suite("Revenue by hour", .timeLimit(.minutes(3)))
struct RevenueByHourTests {
    @Test func hoursAfterMidnightComeAfterTheEvening() throws {
        let zone = TimeZone(identifier: "America/Sao_Paulo")!
        func closed(_ id: String, _ end: String) throws -> TableSession {
            let json =
                #"{"event":"session_complete","order_id":"\#(id)","table_number":"Mesa 1","session_start":"2025-11-24T20:00:00-03:00","session_end":"\#(end)","timestamp":"\#(end)","totals":{"total":10}}"#
            let facts = try #require(
                SessionFacts(eventID: id, receivedAt: Date(), document: try JSONParser.parse(Array(json.utf8)), timeZone: zone))
            return try #require(SessionFolding.fold([facts]))
        }
        let analytics = DayAnalytics(
            sessions: [
                try closed("a", "2025-11-25T00:30:00-03:00"), try closed("b", "2025-11-24T22:10:00-03:00"),
                try closed("c", "2025-11-24T13:00:00-03:00"),
            ], timeZone: zone)
        #expect(analytics.revenueByHour.map(\.hour) == [13, 22, 0])
    }
}
