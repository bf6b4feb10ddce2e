import EmiliaModel
import Foundation
import Testing

@Suite("JSON parser", .timeLimit(.minutes(3)))
struct JSONParserTests {
    @Test func parsesNestedDocumentsKeepingNumberText() throws {
        let value = try JSONParser.parse(Array(#" {"a":[1,-2.50,3e2,true,false,null],"b":{"c":"d\n\u00e9\ud83d\ude00"},"a2":{}} "#.utf8))
        #expect(value["a"] == .array([.number("1"), .number("-2.50"), .number("3e2"), .bool(true), .bool(false), .null]))
        #expect(value["b"]?["c"] == .string("d\né😀"))
        #expect(value["a2"] == .object([]))
    }

    @Test func lastDuplicateKeyWins() throws {
        #expect(try JSONParser.parse(Array(#"{"k":1,"k":2}"#.utf8))["k"] == .number("2"))
    }

    @Test(arguments: [
        ("", "empty body", 0),
        ("   ", "no JSON value", 3),
        ("{\"a\":1,}", "expected a string key", 7),
        ("{\"a\" 1}", "expected ':' after key", 5),
        ("[1 2]", "expected ',' or ']'", 3),
        ("{\"a\":01}", "expected ',' or '}'", 6),
        ("{\"a\":1} x", "unexpected data after the JSON value", 8),
        ("\"abc", "unterminated string", 0),
        ("tru", "unexpected end of input", 3),
        ("nul!", "invalid literal, expected 'null'", 3),
        ("[1.]", "invalid number: digits expected after '.'", 3),
        ("\"a\\x\"", "invalid escape '\\x'", 2),
        ("\"\\ud800\"", "unpaired surrogate in \\u escape", 1),
        ("'a'", "unexpected character '''", 0),
    ])
    func reportsReasonAndOffset(text: String, reason: String, offset: Int) {
        do {
            _ = try JSONParser.parse(Array(text.utf8))
            Issue.record("expected a syntax error for \(text)")
        } catch {
            #expect(error.reason == reason)
            #expect(error.offset == offset)
        }
    }

    @Test func rejectsInvalidUTF8AndControlCharacters() {
        let invalid: [UInt8] = Array("{\"a\":\"x".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        #expect(throws: JSONSyntaxError(reason: "invalid UTF-8", offset: 7)) { try JSONParser.parse(invalid) }
        let overlong: [UInt8] = [0x22, 0xC0, 0xAF, 0x22]
        #expect(throws: JSONSyntaxError(reason: "invalid UTF-8", offset: 1)) { try JSONParser.parse(overlong) }
        let control: [UInt8] = [0x22, 0x01, 0x22]
        #expect(throws: JSONSyntaxError(reason: "control character in string", offset: 1)) { try JSONParser.parse(control) }
    }

    @Test func boundsNesting() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONParser.parse(Array(fine.utf8))
    }

    @Test func agreesWithFoundationOnAValidDocument() throws {
        let text = try String(contentsOf: Fixtures.directory.appendingPathComponent("session_complete.json"), encoding: .utf8)
        let ours = try JSONParser.parse(Array(text.utf8))
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        #expect(ours["order_id"]?.stringValue == theirs["order_id"] as? String)
        #expect(ours["items"]?.arrayValue?.count == (theirs["items"] as? [Any])?.count)
    }
}

@Suite("Money and timestamps", .timeLimit(.minutes(3)))
struct ValueTests {
    @Test(arguments: [("19.00", 190_000), ("-3.5", -35_000), ("1e2", 1_000_000), ("0.00005", 0), ("0.00015", 2), ("12", 120_000)])
    func parsesMoney(text: String, units: Int64) {
        #expect(Money(text)?.units == units)
    }

    @Test func moneyIsExact() {
        #expect(Money("0.1")! + Money("0.2")! == Money("0.3")!)
        #expect((Money("3")! * Money("0.10")!).description == "0.30")
        #expect(Money("abc") == nil)
        #expect(Money("-1.005")!.description == "-1.01")
    }

    @Test func parsesTimestamps() throws {
        let withOffset = try #require(Timestamp("2025-11-24T18:30:00-03:00"))
        #expect(withOffset.offsetSeconds == -10_800)
        #expect(withOffset.instant(in: .gmt) == Date(timeIntervalSince1970: 1_764_019_800))
        let naive = try #require(Timestamp("2025-11-24 18:30:00"))
        #expect(naive.offsetSeconds == nil)
        #expect(naive.instant(in: TimeZone(identifier: "America/Sao_Paulo")!) == Date(timeIntervalSince1970: 1_764_019_800))
        #expect(Timestamp("2025-11-24T18:30") == nil)
        #expect(Timestamp("2024-02-29T00:00:00Z") != nil)
        #expect(Timestamp("2025-02-29T00:00:00Z") == nil)
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_764_019_800), offsetSeconds: -10_800) == "2025-11-24T18:30:00-03:00")
        #expect(Timestamp.formatUTC(Date(timeIntervalSince1970: 1_764_019_800.5)) == "2025-11-24T21:30:00.500Z")
    }

    @Test func identifiersAreTimeOrderedAndUnique() {
        var generator = TimeOrderedIdentifierGenerator()
        let now = Date(timeIntervalSince1970: 1_764_019_800)
        let ids = (0..<5000).map { index in generator.next(now: now.addingTimeInterval(Double(index / 1000))).uuidString }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0[$0.index($0.startIndex, offsetBy: 14)] == "7" })
    }

    @Test func theLowerBoundSplitsIdsAtAnInstant() {
        var generator = TimeOrderedIdentifierGenerator()
        let cutoff = Date(timeIntervalSince1970: 1_764_019_800.250)
        let before = (1...300).reversed().map { generator.next(now: cutoff.addingTimeInterval(-Double($0) / 100)).uuidString.lowercased() }
        let after = (0..<300).map { generator.next(now: cutoff.addingTimeInterval(Double($0) / 100)).uuidString.lowercased() }
        let bound = TimeOrderedIdentifierGenerator.lowerBound(at: cutoff)
        #expect(bound.count == 14)
        #expect(before.allSatisfy { $0 < bound })
        #expect(after.allSatisfy { $0 >= bound })
    }

    @Test func tokenFormat() {
        #expect(TokenFormat.problem(with: "3F6C1B9E-8A3D-4C2B-9F1E-2D7A5B8C0E41") == nil)
        #expect(TokenFormat.problem(with: "3f6c1b9e-8a3") == "the token must be the full 36-character UUID; got 12 characters")
        #expect(TokenFormat.problem(with: "zzzzzzzz-8a3d-4c2b-9f1e-2d7a5b8c0e41") != nil)
    }

    /// The token check accepts exactly 8-4-4-4-12 hexadecimal digits of either case separated by dashes: valid ids,
    /// each mutated in up to three places (hex digits of both cases, dashes, non-hex letters, braces, spaces, a
    /// multi-byte character), against a reference written another way. Foundation's `UUID(uuidString:)`, used
    /// before, is looser on Linux: it took spaces and dashes inside the groups. Catches a dash position or a digit
    /// range off by one.
    @Test func tokenFormatAcceptsExactlyTheUUIDShape() {
        func reference(_ text: String) -> Bool {
            text.utf8.count == 36
                && text.split(separator: "-", omittingEmptySubsequences: false).map(\.count) == [8, 4, 4, 4, 12]
                && text.allSatisfy { $0 == "-" || ($0.isASCII && $0.isHexDigit) }
        }
        var random = FuzzGenerator(seed: Array("token-format".utf8))
        let alphabet = Array("0123456789abcdefABCDEF-gGzZ{} é")
        var accepted = 0
        for _ in 0..<20_000 {
            let valid = UUID().uuidString
            var characters = Array(Bool.random(using: &random) ? valid : valid.lowercased())
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                characters[Int.random(in: 0..<characters.count, using: &random)] = alphabet.randomElement(using: &random)!
            }
            let text = String(characters)
            #expect((TokenFormat.problem(with: text) == nil) == reference(text), "\(text)")
            if reference(text) { accepted += 1 }
        }
        #expect(accepted > 2_000 && accepted < 18_000, "the mutations tried too few valid or invalid tokens")
    }

    /// The writers' event ids: the canonical lowercase text of each UUID.
    @Test func lowercaseTextIsTheCanonicalLowercaseUUID() {
        var generator = TimeOrderedIdentifierGenerator()
        for _ in 0..<1_000 {
            let id = Bool.random() ? UUID() : generator.next(now: Date())
            #expect(id.lowercaseText == id.uuidString.lowercased())
        }
    }
}
