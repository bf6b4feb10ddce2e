import EmiliaModel
import Foundation
import Testing

@Suite("The ingest answer the server writes and the client reads")
struct IngestAnswerTests {
    @Test func theHandWrittenJSONDecodesToTheSameAnswer() throws {
        let warnings = [
            ValidationWarning(code: .missingTableNumber, field: "table_number", message: "No \"table\"\nhere."),
            ValidationWarning(code: .naiveTimestamp, field: "items[0].timestamp", message: "Añadir offset"),
        ]
        let receivedAt = Date(timeIntervalSince1970: 1_764_019_800.123)
        let text = IngestAnswer.json(
            eventID: "0199-\"odd\"", receivedAt: receivedAt, env: "dev", isDuplicate: true,
            warningsJSON: JSONText.warnings(warnings))
        let decoded = try JSONDecoder().decode(IngestAnswer.self, from: Data(text.utf8))
        #expect(decoded == IngestAnswer(eventID: "0199-\"odd\"", receivedAt: receivedAt, env: "dev", isDuplicate: true, warnings: warnings))
        #expect(decoded.status == "received")
        // What JSONEncoder writes of it decodes to it too, under the same keys: one type, either way.
        let encoded = try JSONEncoder().encode(decoded)
        #expect(try JSONDecoder().decode(IngestAnswer.self, from: encoded) == decoded)
        func keys(_ data: Data) throws -> Set<String> { Set((try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]).keys) }
        #expect(try keys(Data(text.utf8)) == keys(encoded), "a field the hand-written answer leaves out")
    }

    @Test func warningsWithCodesFromANewerServerAreLeftOut() throws {
        let text =
            #"{"status":"received","event_id":"e","received_at":"2025-11-24T20:15:00Z","env":"prod","duplicate":false,"#
            + #""warnings":[{"code":"from_the_future","field":"","message":"?"},{"code":"missing_table_number","field":"table_number","message":"m"}]}"#
        let decoded = try JSONDecoder().decode(IngestAnswer.self, from: Data(text.utf8))
        #expect(decoded.warnings.map(\.code) == [.missingTableNumber])
    }
}
