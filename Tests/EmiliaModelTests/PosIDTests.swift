import EmiliaModel
import Foundation
import Testing

private let zone = TimeZone(identifier: "America/Sao_Paulo")!

@Suite("Ids as the POS sent them")
struct PosIDTests {
    /// What `JSONEncoder` writes of an id read from `json`.
    private func written(_ json: String) throws -> String {
        let id = try #require(PosID(try JSONParser.parse(Array(json.utf8))))
        return String(decoding: try JSONEncoder().encode([id]), as: UTF8.self)
    }

    @Test(arguments: [
        ("72", "[72]"), ("-3", "[-3]"), ("12.5", "[12.5]"), (#""72""#, #"["72"]"#), (#""A-17""#, #"["A-17"]"#),
        ("123456789012345678901234567890", "[123456789012345678901234567890]"),
        // A number written another way would come back changed: its text goes back instead, as a string.
        ("1e5", #"["1e5"]"#), ("12.50", #"["12.50"]"#),
    ])
    func idsGoBackOutAsTheyCameIn(sent: String, answer: String) throws {
        #expect(try written(sent) == answer)
    }

    @Test func aNumberAndItsTextAreTheSameIDAndDecodeBackToTheirType() throws {
        #expect(PosID("72", isNumber: true) == PosID("72"))
        let decoded = try JSONDecoder().decode([PosID].self, from: Data(#"[72, "72", 12.5]"#.utf8))
        #expect(decoded.map(\.isNumber) == [true, false, true])
        #expect(decoded.map(\.text) == ["72", "72", "12.5"])
        #expect(PosID(try JSONParser.parse(Array("[1]".utf8))) == nil, "an array is no id")
    }

    @Test func aSessionsIDTypesDoNotDependOnTheOrderItsEventsFold() throws {
        func event(_ id: String, orderID: String, employee: String) throws -> SessionFacts {
            let json =
                #"{"event":"items_added","order_id":\#(orderID),"table_number":"Mesa 2","timestamp":"2025-11-24T19:00:00-03:00","#
                + #""items":[{"employee_id":\#(employee),"name":"Chopp","quantity":1,"price":9.5}]}"#
            return try #require(
                SessionFacts(eventID: id, receivedAt: Date(), document: try JSONParser.parse(Array(json.utf8)), timeZone: zone))
        }
        let asNumbers = try event("e1", orderID: "4711", employee: "72")
        let asStrings = try event("e2", orderID: #""4711""#, employee: #""72""#)
        for order in [[asNumbers, asStrings], [asStrings, asNumbers]] {
            let session = try #require(SessionFolding.fold(order))
            #expect(session.orderID.isNumber, "order \(order.map(\.eventID))")
            #expect(session.items.first?.employeeID?.isNumber == true, "order \(order.map(\.eventID))")
            let staff = DayAnalytics(sessions: [session], timeZone: zone).staff
            #expect(staff.first?.employeeID.isNumber == true)
        }
        let onlyStrings = try #require(SessionFolding.fold([asStrings]))
        #expect(!onlyStrings.orderID.isNumber && onlyStrings.items.first?.employeeID?.isNumber == false)
    }
}
