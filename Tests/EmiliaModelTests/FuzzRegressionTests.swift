// The fuzz checks AND their regression tests, in one file on purpose.
//
// The same code is compiled twice:
// - by SwiftPM into EmiliaModelTests, where the `@Suite` at the bottom replays every saved input under
//   `Fuzz/regressions/<target>/` (and `Fuzz/corpus/<target>/`, `Fuzz/large/<target>/`) through `FuzzChecks.run`;
// - by `scripts/fuzz.sh` with `swiftc -D EMILIA_FUZZ`, together with `Sources/EmiliaModel/*.swift` and
//   `Fuzz/Sources/*.swift` (the libFuzzer entry point), so the fuzzer and the tests run the very same checks.
// SwiftPM cannot compile a file from outside the test target's directory, hence the checks live here.
// See Fuzz/README.md.

import Foundation

#if !EMILIA_FUZZ
    import Testing
    @testable import EmiliaModel
#endif

// MARK: - Targets and failures

/// The four harnesses; the fuzz binary picks one with `EMILIA_FUZZ_TARGET`.
enum FuzzTarget: String, CaseIterable, Codable, Sendable {
    /// `JSONParser` against Foundation's `JSONSerialization`, plus the writer's round trip.
    case json
    /// `PayloadValidator.validate` over parsed documents.
    case validator
    /// `SessionFacts`, `SessionAccumulator` (order, repeats) and its storage form.
    case fold
    /// `Money`: parsing against an exact reference, arithmetic, `description`, `magnitude`.
    case money
}

/// A broken property (the model itself may also trap, which is the other way a check fails).
struct FuzzFailure: Error, CustomStringConvertible, Sendable {
    var message: String
    var description: String { message }
}

@inline(__always)
private func fuzzRequire(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFailure) {
    if !condition { throw FuzzFailure(message: message()) }
}

enum FuzzChecks {
    /// Runs one input through one target's checks; throws when a property does not hold.
    static func run(_ target: FuzzTarget, _ input: [UInt8]) throws(FuzzFailure) {
        switch target {
        case .json: try json(input)
        case .validator: try validator(input)
        case .fold: try fold(input)
        case .money: try money(input)
        }
    }

    static let saoPaulo = TimeZone(identifier: "America/Sao_Paulo")!
    static let mesaStyle = TableNamingStyle(pattern: "mesa #")
}

// MARK: - json: JSONParser vs JSONSerialization

// Known, intended differences between Emilia's parser and Foundation's JSONSerialization (corelibs, Linux).
// These classes are skipped, never reported:
//  1. Encoding detection: Foundation reads input with a BOM (EF BB BF, FE FF, FF FE) or with NUL bytes as
//     UTF-8-with-BOM / UTF-16 / UTF-32 ("1\0" is "1" in UTF-16LE). Emilia takes UTF-8 only, and a raw NUL is
//     never valid JSON there; the harness only requires that Emilia rejects such input.
//  2. Depth: Emilia rejects nesting deeper than `JSONParser.maximumDepth` (64); Foundation allows 512.
//  3. Invalid UTF-8 and unpaired surrogates (`"\ud800"`): Emilia always rejects them; should Foundation
//     accept one, that is skipped (today it rejects them too).
//  4. Trailing commas: Foundation accepts `[1,]` and `{"a":1,}`; Emilia rejects them, as RFC 8259 does.
//  5. Numbers outside Double's range (`1e400`, 400-digit integers): Foundation rejects them ("not
//     representable in Swift"); Emilia keeps numbers as text and accepts them.
//  6. Number values: Foundation gives Int/UInt64/Double/NSDecimalNumber (38 digits); Emilia keeps the text.
//     They are compared as Double(text) against doubleValue, equal or within a relative 1e-9.
//  7. Duplicate keys: compared as `JSONValue`'s subscript reads them (the last one wins); Foundation's
//     dictionary keeps the last one too. Keys are matched with Swift's String equality (canonical
//     equivalence, as both the subscript and Foundation's [String: Any] do); string values are compared
//     scalar by scalar.
//  8. U+FEFF inside strings: Foundation drops a U+FEFF that starts a string or follows an escape sequence
//     (`"\\n\u{FEFF}b"` reads as "\nb"; it decodes the pieces between escapes as if each could start with a BOM).
//     Emilia keeps the character, as RFC 8259 says. When a string or key holds U+FEFF, only the accept/reject
//     decision is compared.
extension FuzzChecks {
    static func json(_ input: [UInt8]) throws(FuzzFailure) {
        // An exact-size heap copy, so AddressSanitizer sees any read past the end of the body.
        let exact = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(input.count, 1))
        defer { exact.deallocate() }
        _ = exact.initialize(from: input)
        let body = UnsafeBufferPointer(rebasing: exact[0..<input.count])

        let viaBuffer = Result<JSONValue, JSONSyntaxError> { () throws(JSONSyntaxError) in try JSONParser.parse(buffer: body) }
        let viaData = Result<JSONValue, JSONSyntaxError> { () throws(JSONSyntaxError) in try JSONParser.parse(Data(input)) }
        switch (viaBuffer, viaData) {
        case let (.success(a), .success(b)):
            try fuzzRequire(a == b && a.jsonText == b.jsonText, "parse(buffer:) and parse(Data) disagree: \(a.jsonText) vs \(b.jsonText)")
        case let (.failure(a), .failure(b)):
            try fuzzRequire(a == b, "parse(buffer:) and parse(Data) fail differently: \(a) vs \(b)")
        default:
            try fuzzRequire(false, "parse(buffer:) and parse(Data) disagree on accepting: \(viaBuffer) vs \(viaData)")
        }

        switch viaBuffer {
        case .failure(let error):
            try fuzzRequire((0...input.count).contains(error.offset), "error offset \(error.offset) outside 0...\(input.count)")
        case .success(let value):
            // The writer's output reads back as the same tree, and writes back byte for byte.
            let text = value.jsonText
            let reread: JSONValue
            do { reread = try JSONParser.parse(Array(text.utf8)) } catch {
                throw FuzzFailure(message: "value.text does not parse back (\(error)): \(text)")
            }
            try fuzzRequire(reread == value, "value.text parses to a different tree: \(text)")
            try fuzzRequire(reread.jsonText == text, "value.jsonText is not stable: \(text) then \(reread.jsonText)")
        }

        // The differential against Foundation.
        let startsWithBOM =
            input.starts(with: [0xEF, 0xBB, 0xBF]) || input.starts(with: [0xFE, 0xFF])
            || input.starts(with: [0xFF, 0xFE])
        if startsWithBOM || input.contains(0) {  // difference 1
            try fuzzRequire(viaBuffer.isFailure, "Emilia accepted a body with a BOM or a NUL byte")
            return
        }
        let foundation = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed])
        switch (viaBuffer, foundation) {
        case (.failure(let error), nil):
            _ = error
        case let (.failure(error), foundationValue?):
            if error.reason.hasPrefix("nesting deeper") { return }  // difference 2
            if error.reason == "invalid UTF-8" || error.reason.contains("surrogate") { return }  // difference 3
            if isTrailingComma(input, at: error.offset) { return }  // difference 4
            throw FuzzFailure(message: "Emilia rejects (\(error)) what Foundation accepts: \(foundationValue)")
        case (.success(let value), nil):
            if hasNumberOutsideDouble(value) { return }  // difference 5
            throw FuzzFailure(message: "Emilia accepts what Foundation rejects: \(value.jsonText)")
        case let (.success(value), foundationValue?):
            if containsByteOrderMark(value) { return }  // difference 8
            try compare(value, foundationValue, path: "$")
        }
    }

    /// True when the byte at `offset` closes an array or object right after a comma (white space between).
    private static func isTrailingComma(_ input: [UInt8], at offset: Int) -> Bool {
        guard offset < input.count, input[offset] == UInt8(ascii: "]") || input[offset] == UInt8(ascii: "}") else { return false }
        var index = offset - 1
        while index >= 0, [0x20, 0x09, 0x0A, 0x0D].contains(input[index]) { index -= 1 }
        return index >= 0 && input[index] == UInt8(ascii: ",")
    }

    private static func hasNumberOutsideDouble(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let text): return !(Double(text)?.isFinite ?? false)
        case .array(let elements): return elements.contains(where: hasNumberOutsideDouble)
        case .object(let members): return members.contains { hasNumberOutsideDouble($0.value) }
        case .null, .bool, .string: return false
        }
    }

    private static func containsByteOrderMark(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): return text.unicodeScalars.contains("\u{FEFF}")
        case .array(let elements): return elements.contains(where: containsByteOrderMark)
        case .object(let members):
            return members.contains { $0.key.unicodeScalars.contains("\u{FEFF}") || containsByteOrderMark($0.value) }
        case .null, .bool, .number: return false
        }
    }

    private static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    private static func compare(_ value: JSONValue, _ other: Any, path: String) throws(FuzzFailure) {
        func differ(_ what: String) -> FuzzFailure {
            FuzzFailure(
                message: "\(path): Emilia \(value.jsonText.prefix(200)) vs Foundation \(String(describing: other).prefix(200)) (\(what))")
        }
        switch value {
        case .null:
            guard other is NSNull else { throw differ("null") }
        case .bool(let flag):
            guard let number = other as? NSNumber, isBoolean(number), number.boolValue == flag else { throw differ("bool") }
        case .number(let text):
            guard let number = other as? NSNumber, !isBoolean(number) else { throw differ("number type") }
            guard let mine = Double(text) else { throw differ("Double(text) is nil") }
            let theirs = number.doubleValue
            if mine != theirs {  // difference 6
                let scale = Swift.max(abs(mine), abs(theirs))
                guard mine.isFinite, theirs.isFinite, abs(mine - theirs) <= scale * 1e-9 else { throw differ("number value") }
            }
        case .string(let text):
            guard let theirs = other as? String else { throw differ("string type") }
            guard Array(text.unicodeScalars) == Array(theirs.unicodeScalars) else { throw differ("string scalars") }
        case .array(let elements):
            guard let theirs = other as? [Any], theirs.count == elements.count else { throw differ("array") }
            for (index, element) in elements.enumerated() { try compare(element, theirs[index], path: "\(path)[\(index)]") }
        case .object(let members):
            guard let theirs = other as? [String: Any] else { throw differ("object type") }
            var lastWins: [String: JSONValue] = [:]  // difference 7: as `JSONValue.subscript` reads them
            for member in members { lastWins[member.key] = member.value }
            guard lastWins.count == theirs.count else { throw differ("object key count \(lastWins.count) vs \(theirs.count)") }
            for (key, element) in lastWins {
                guard value[key] == element else { throw differ("subscript of \(key) is not the last member") }
                guard let theirValue = theirs[key] else { throw differ("key \(key) missing") }
                try compare(element, theirValue, path: "\(path).\(key)")
            }
        }
    }
}

extension Result {
    fileprivate var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}

// MARK: - validator: PayloadValidator.validate

extension FuzzChecks {
    static func validator(_ input: [UInt8]) throws(FuzzFailure) {
        guard let document = try? JSONParser.parse(input) else { return }
        let received = Date(timeIntervalSince1970: 1_764_100_000)  // 2025-11-25T19:46:40Z
        let context = ValidationContext(timeZone: saoPaulo, tableStyle: mesaStyle, receivedAt: received)
        let report = PayloadValidator.validate(document, context: context)

        // A pure function of its input.
        let again = PayloadValidator.validate(document, context: context)
        try fuzzRequire(again.summary == report.summary && again.warnings == report.warnings, "validate is not deterministic")

        // The table style only adds table_name_inconsistent; a non-JSON Content-Type only adds content_type, first.
        let noStyle = PayloadValidator.validate(document, context: ValidationContext(timeZone: saoPaulo, receivedAt: received))
        try fuzzRequire(noStyle.summary == report.summary, "the table style changed the summary")
        try fuzzRequire(
            noStyle.warnings == report.warnings.filter { $0.code != .tableNameInconsistent },
            "the table style changed more than table_name_inconsistent")
        try fuzzRequire(!noStyle.warnings.contains { $0.code == .tableNameInconsistent }, "table_name_inconsistent without a style")
        let notJSON = PayloadValidator.validate(
            document, context: ValidationContext(timeZone: saoPaulo, tableStyle: mesaStyle, contentTypeIsJSON: false, receivedAt: received))
        try fuzzRequire(notJSON.summary == report.summary, "the Content-Type changed the summary")
        try fuzzRequire(
            notJSON.warnings.first?.code == .contentType && Array(notJSON.warnings.dropFirst()) == report.warnings,
            "a non-JSON Content-Type should add exactly one content_type warning, first")
        // Without an arrival time only timestamp_out_of_range goes.
        let noArrival = PayloadValidator.validate(document, context: ValidationContext(timeZone: saoPaulo, tableStyle: mesaStyle))
        try fuzzRequire(noArrival.summary == report.summary, "the arrival time changed the summary")
        try fuzzRequire(
            noArrival.warnings == report.warnings.filter { $0.code != .timestampOutOfRange },
            "the arrival time changed more than timestamp_out_of_range")

        // The summary reads the fields as documented.
        if document.isObject {
            try fuzzRequire(report.summary.kind == EventKind(rawValue: document["event"]?.stringValue ?? ""), "summary.kind")
            try fuzzRequire(report.summary.orderID == document["order_id"]?.scalarText, "summary.orderID")
            try fuzzRequire(!report.warnings.contains { $0.code == .notAnObject }, "not_an_object for an object")
        } else {
            try fuzzRequire(report.warnings.map(\.code) == [.notAnObject], "a non-object gets exactly not_an_object")
        }
        for warning in report.warnings {
            try fuzzRequire(!warning.message.isEmpty, "empty message for \(warning.code)")
            try fuzzRequire(warning.field.isEmpty == (warning.code == .notAnObject), "field of \(warning.code): '\(warning.field)'")
        }

        // The warnings as the server answers them are JSON that reads back to the same warnings.
        let answer = JSONText.warnings(report.warnings)
        let parsed: JSONValue
        do { parsed = try JSONParser.parse(Array(answer.utf8)) } catch {
            throw FuzzFailure(message: "JSONText.warnings is not JSON (\(error)): \(answer)")
        }
        let reread = (parsed.arrayValue ?? []).map { item in
            [item["code"]?.stringValue, item["field"]?.stringValue, item["message"]?.stringValue]
        }
        let expected = report.warnings.map { [$0.code.rawValue, $0.field, $0.message] as [String?] }
        try fuzzRequire(
            reread.count == expected.count
                && zip(reread, expected).allSatisfy { pair in
                    zip(pair.0, pair.1).allSatisfy { Array(($0 ?? "").unicodeScalars) == Array(($1 ?? "\u{0}").unicodeScalars) }
                }, "JSONText.warnings does not read back: \(answer)")
        try fuzzRequire(
            (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) != nil, "Foundation rejects JSONText.warnings: \(answer)")
    }
}

// MARK: - fold: SessionFacts, SessionAccumulator, storage

// Input: up to 12 JSON documents separated by NUL bytes (a raw NUL is never inside valid JSON). Document i
// becomes event "e<i>" received at a fixed whole second plus i minutes (whole milliseconds, as stored).
// The whole input is also read as a stored accumulator, which must not trap.
extension FuzzChecks {
    static let foldMaximumEvents = 12

    static func fold(_ input: [UInt8]) throws(FuzzFailure) {
        if let stored = SessionAccumulator(storageText: Data(input)) {
            _ = SessionAccumulator(storageText: Data(stored.storageText.utf8))
        }

        var events: [SessionFacts] = []
        for (index, chunk) in input.split(separator: 0, omittingEmptySubsequences: false).prefix(foldMaximumEvents).enumerated() {
            guard let document = try? JSONParser.parse(chunk) else { continue }
            let received = Date(timeIntervalSince1970: Double(1_764_100_000_000 + Int64(index) * 60_000) / 1000)
            let facts = SessionFacts(eventID: "e\(index)", receivedAt: received, document: document, timeZone: saoPaulo)
            let factsAgain = SessionFacts(eventID: "e\(index)", receivedAt: received, document: document, timeZone: saoPaulo)
            try fuzzRequire(facts == factsAgain, "SessionFacts is not deterministic")
            if let facts { events.append(facts) }
        }
        guard !events.isEmpty else { return }

        func accumulate(_ list: some Sequence<SessionFacts>, into start: SessionAccumulator? = nil) -> SessionAccumulator {
            var accumulator = start ?? SessionAccumulator(orderID: "fuzz-order")
            for event in list { accumulator.add(event) }
            return accumulator
        }
        let accumulator = accumulate(events)
        let session = accumulator.session
        // The derived figures must not trap.
        _ = (session.itemsAmount, session.revenue, session.durationSeconds, session.firstItemSeconds, session.roundGapsSeconds)
        _ = session.items.map { $0.amount.description }

        // Order-independent: any order of the same events folds to the same session.
        var generator = FuzzGenerator(seed: input)
        let orders: [(String, [SessionFacts])] = [
            ("reversed", events.reversed()),
            ("rotated", Array(events.dropFirst() + events.prefix(1))),
            ("shuffled", events.shuffled(using: &generator)),
        ]
        for (name, order) in orders {
            let other = accumulate(order).session
            try fuzzRequire(other == session, "the \(name) order folds differently:\n\(session)\nvs\n\(other)")
        }
        if events.allSatisfy({ $0.orderID == events[0].orderID }), var folded = SessionFolding.fold(events) {
            folded.orderID = "fuzz-order"
            try fuzzRequire(folded == session, "SessionFolding.fold differs from the accumulator")
        }

        // Idempotent: adding the same facts again changes nothing at all.
        let twice = accumulate(events.reversed(), into: accumulator)
        try fuzzRequire(sameState(twice, accumulator), "adding the same events again changed the accumulator")
        var doubled = SessionAccumulator(orderID: "fuzz-order")
        for event in events {
            doubled.add(event)
            doubled.add(event)
        }
        try fuzzRequire(sameState(doubled, accumulator), "adding each event twice in a row changed the accumulator")

        // The storage form reads back to the same accumulator and writes back byte for byte.
        let text = accumulator.storageText
        guard let restored = SessionAccumulator(storageText: Data(text.utf8)) else {
            throw FuzzFailure(message: "storageText does not read back: \(text)")
        }
        try fuzzRequire(restored == accumulator, "storageText reads back to a different accumulator: \(text)")
        try fuzzRequire(restored.storageText == text, "storageText is not stable: \(text) then \(restored.storageText)")

        // As the projection does it: fold a prefix, store it, read it back, add the rest.
        let split = events.count / 2
        let head = accumulate(events.prefix(split))
        guard let headRestored = SessionAccumulator(storageText: Data(head.storageText.utf8)) else {
            throw FuzzFailure(message: "storageText of a prefix does not read back: \(head.storageText)")
        }
        try fuzzRequire(
            sameState(accumulate(events.dropFirst(split), into: headRestored), accumulator),
            "folding through storage differs from folding directly")
    }

    /// Equal accumulators, but for the order of their item entries: new lines are appended in `Dictionary`
    /// iteration order, which Swift seeds per instance, so that order is not a function of the events.
    static func sameState(_ a: SessionAccumulator, _ b: SessionAccumulator) -> Bool {
        guard Set(a.items) == Set(b.items), a.items.count == b.items.count else { return false }
        var a = a
        var b = b
        a.items = []
        b.items = []
        return a == b
    }
}

/// A small deterministic generator seeded from the input (FNV-1a), so a failing shuffle reproduces.
struct FuzzGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: [UInt8]) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        state = hash
    }

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }
}

// MARK: - money: Money

// Input: up to 3 lines. Each line is read by `Money.read` / `Money(String)` and checked against an exact reference.
// A line `#<integer>` stands for `Money(units:)` with that many ten-thousandths (to reach every Int64),
// otherwise the amount read is the operand. Every operand, and every ordered pair of operands, is checked.
//
// The semantics the reference encodes (Money.swift):
//  - text: [+|-] digits with at most one '.' and at least one digit, then optionally e|E, an optional sign and
//    at least one digit (any length). Rounded half to even at four decimals; `.outOfRange` (and nil) when the
//    rounded magnitude is `Money.limit` or more; `.invalid` (and nil) for anything else.
//  - `+`, `-`, `*`: the exact result (`*` rounded half away from zero to four decimals), saturating at the ends
//    of Int64; `adding(_:)` and `multiplied(by:)` give nil instead of saturating. (Int64.min exactly: nil or
//    .min both accepted from `multiplied(by:)`, which rounds on the magnitude.)
//  - `description`: two decimals, rounded half away from zero, no sign on a zero; it reads back when within
//    the limit. The exact four-decimal text reads back too.
//  - `magnitude`: |units|, with Int64.min saturating to Int64.max.
extension FuzzChecks {
    static func money(_ input: [UInt8]) throws(FuzzFailure) {
        var operands: [Money] = []
        for line in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).prefix(3) {
            let text = String(decoding: line, as: UTF8.self)
            let reading = Money.read(text)
            let expected = referenceReading(text)
            try fuzzRequire(reading == expected, "Money.read(\(text.debugDescription)) is \(reading), expected \(expected)")
            let parsed = Money(text)
            if case .value(let money) = expected {
                try fuzzRequire(
                    parsed == money, "Money(\(text.debugDescription)) is \(String(describing: parsed)), expected \(money.units) units")
            } else {
                try fuzzRequire(parsed == nil, "Money(\(text.debugDescription)) is \(parsed!.units) units, expected nil")
            }
            if text.hasPrefix("#"), let units = Int64(text.dropFirst()) {
                operands.append(Money(units: units))
            } else if let parsed {
                operands.append(parsed)
            }
        }
        for a in operands { try moneyUnary(a) }
        for a in operands { for b in operands { try moneyBinary(a, b) } }
    }

    private static func moneyUnary(_ a: Money) throws(FuzzFailure) {
        let magnitude = a.magnitude.units
        try fuzzRequire(magnitude == (a.units == Int64.min ? Int64.max : abs(a.units)), "magnitude of \(a.units) units is \(magnitude)")

        let description = a.description
        let expected = referenceDescription(a.units)
        try fuzzRequire(description == expected, "description of \(a.units) units is \(description), expected \(expected)")
        // Two decimals read back as the amount rounded to cents (when within the limit).
        let cents = Int64((a.units.magnitude + 50) / 100) * 100
        let back = Money(description)
        try fuzzRequire(
            back?.units == (cents < Money.limit.units ? (a.units < 0 ? -cents : cents) : nil),
            "Money(\(description)) is \(back.map { "\($0.units)" } ?? "nil") units")

        // The exact four-decimal text reads back as the same amount (when within the limit).
        let exact = exactText(a.units)
        try fuzzRequire(Money(exact) == (a.magnitude < Money.limit ? a : nil), "Money(\(exact)) does not read back as \(a.units) units")
    }

    private static func moneyBinary(_ a: Money, _ b: Money) throws(FuzzFailure) {
        func clamp(_ value: Int128) -> Int64 { Int64(exactly: value) ?? (value < 0 ? .min : .max) }
        let sum = Int128(a.units) + Int128(b.units)
        try fuzzRequire((a + b).units == clamp(sum), "\(a.units) + \(b.units) units is \((a + b).units)")
        try fuzzRequire(a.adding(b)?.units == Int64(exactly: sum), "\(a.units).adding(\(b.units)) is \(String(describing: a.adding(b)))")
        let difference = Int128(a.units) - Int128(b.units)
        try fuzzRequire((a - b).units == clamp(difference), "\(a.units) - \(b.units) units is \((a - b).units)")

        let full = Int128(a.units) * Int128(b.units)
        var rounded = full / 10_000
        let remainder = full % 10_000
        if remainder >= 5_000 { rounded += 1 } else if remainder <= -5_000 { rounded -= 1 }
        try fuzzRequire((a * b).units == clamp(rounded), "\(a.units) * \(b.units) units is \((a * b).units), expected \(clamp(rounded))")
        let checked = a.multiplied(by: b)
        try fuzzRequire(
            checked?.units == Int64(exactly: rounded) || (rounded == Int128(Int64.min) && checked == nil),
            "\(a.units).multiplied(by: \(b.units)) is \(String(describing: checked)), expected \(rounded)")
    }

    /// `123.4567` for 1 234 567 ten-thousandths.
    static func exactText(_ units: Int64) -> String {
        let magnitude = units.magnitude
        let fraction = String(magnitude % 10_000)
        return "\(units < 0 ? "-" : "")\(magnitude / 10_000).\(String(repeating: "0", count: 4 - fraction.count))\(fraction)"
    }

    /// Two decimals, half away from zero, computed on the unsigned magnitude (no overflow possible).
    static func referenceDescription(_ units: Int64) -> String {
        let cents = (units.magnitude + 50) / 100
        let fraction = cents % 100
        return "\(units < 0 && cents > 0 ? "-" : "")\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// What `Money.read(text)` should give, by exact decimal arithmetic on digit strings.
    static func referenceReading(_ text: String) -> Money.Reading {
        var bytes = Array(text.utf8)
        var exponent = 0
        if let marker = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            var exponentBytes = bytes[(marker + 1)...]
            var negative = false
            if let sign = exponentBytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                negative = sign == UInt8(ascii: "-")
                exponentBytes = exponentBytes.dropFirst()
            }
            guard !exponentBytes.isEmpty, exponentBytes.allSatisfy(isASCIIDigit) else { return .invalid }
            // Clamped far beyond any amount's digits, so the sums below cannot overflow.
            let magnitude = exponentBytes.reduce(0) { Swift.min($0 * 10 + Int($1 - UInt8(ascii: "0")), 100_000_000) }
            exponent = negative ? -magnitude : magnitude
            bytes.removeSubrange(marker...)
        }
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        guard bytes.filter({ $0 == UInt8(ascii: ".") }).count <= 1,
            bytes.allSatisfy({ isASCIIDigit($0) || $0 == UInt8(ascii: ".") })
        else { return .invalid }
        let digits = bytes.filter(isASCIIDigit).map { Int($0 - UInt8(ascii: "0")) }
        guard !digits.isEmpty else { return .invalid }
        let fractionDigits = bytes.firstIndex(of: UInt8(ascii: ".")).map { bytes.count - $0 - 1 } ?? 0
        let significant = Array(digits.drop { $0 == 0 })
        if significant.isEmpty { return .value(.zero) }
        // units = significant × 10^shift, an integer of (significant.count + shift) digits when that is positive.
        let shift = exponent - fractionDigits + 4
        let wholeDigits = significant.count + shift
        if wholeDigits > 19 { return .outOfRange }
        if wholeDigits < 0 { return .value(.zero) }  // below 0.1 units: rounds to zero
        var kept = significant
        var roundUp = false
        if shift >= 0 {
            kept += Array(repeating: 0, count: shift)
        } else {
            kept = Array(significant.prefix(wholeDigits))
            let dropped = significant.suffix(-shift)
            let first = dropped.first!
            roundUp = first > 5 || (first == 5 && (dropped.dropFirst().contains { $0 != 0 } || (kept.last ?? 0) % 2 == 1))
        }
        var magnitude = kept.reduce(UInt64(0)) { $0 * 10 + UInt64($1) }
        if roundUp { magnitude += 1 }
        guard magnitude < UInt64(Money.limit.units) else { return .outOfRange }
        return .value(Money(units: negative ? -Int64(magnitude) : Int64(magnitude)))
    }

    private static func isASCIIDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

// MARK: - Regression tests

#if !EMILIA_FUZZ
    /// One saved input: `Fuzz/<kind>/<target>/<name>`.
    struct FuzzInput: Sendable, Codable, CustomTestStringConvertible {
        var target: FuzzTarget
        var path: String

        var testDescription: String { "\(target.rawValue)/\(URL(fileURLWithPath: path).lastPathComponent)" }

        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz")

        /// The files under `Fuzz/<kind>/<target>/`, sorted.
        static func all(in kind: String, targets: [FuzzTarget] = FuzzTarget.allCases) -> [FuzzInput] {
            targets.flatMap { target in
                let directory = root.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
                let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
                return names.filter { !$0.hasPrefix(".") }.sorted()
                    .map { FuzzInput(target: target, path: directory.appendingPathComponent($0).path) }
            }
        }

        /// Runs the inputs' checks in this process; prints the first failure and exits 1. Used inside exit tests, so a
        /// trap in the model fails one test instead of ending the whole run.
        static func runOrExit(_ inputs: [FuzzInput]) {
            for input in inputs {
                guard let bytes = FileManager.default.contents(atPath: input.path) else {
                    FileHandle.standardError.write(Data("cannot read \(input.path)\n".utf8))
                    exit(1)
                }
                FileHandle.standardError.write(Data("checking \(input.testDescription)\n".utf8))
                do {
                    try FuzzChecks.run(input.target, Array(bytes))
                } catch {
                    FileHandle.standardError.write(Data("FAILED \(input.testDescription): \(error)\n".utf8))
                    exit(1)
                }
            }
            exit(0)
        }
    }

    @Suite("Fuzz regressions", .timeLimit(.minutes(5)))
    struct FuzzRegressionTests {
        /// Every input the fuzzer once crashed on (Fuzz/regressions/<target>/) passes its harness's checks now.
        @Test(arguments: FuzzInput.all(in: "regressions"))
        func regression(_ input: FuzzInput) async throws {
            await Self.expectPasses([input])
        }

        /// The committed seeds (Fuzz/corpus/<target>/) and large inputs (Fuzz/large/<target>/) pass too: what
        /// `scripts/fuzz.sh` replays first.
        @Test(arguments: FuzzTarget.allCases)
        func seedCorpus(_ target: FuzzTarget) async throws {
            let inputs = FuzzInput.all(in: "corpus", targets: [target]) + FuzzInput.all(in: "large", targets: [target])
            #expect(!inputs.isEmpty)
            await Self.expectPasses(inputs)
        }

        /// Runs the checks in a child process (an exit test), so a trap fails this test only. On failure, runs them
        /// once more expecting the failure, to record what the child printed (the check's message or the trap).
        static func expectPasses(_ inputs: [FuzzInput]) async {
            let passed = await #expect(processExitsWith: .success) { [inputs = inputs as [FuzzInput]] in
                FuzzInput.runOrExit(inputs)
            }
            guard passed == nil else { return }
            let failed = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                [inputs = inputs as [FuzzInput]] in
                FuzzInput.runOrExit(inputs)
            }
            if let failed {
                let output = String(decoding: failed.standardErrorContent, as: UTF8.self).split(separator: "\n").suffix(30)
                Issue.record(Comment(rawValue: "\(failed.exitStatus):\n" + output.joined(separator: "\n")))
            }
        }

        /// The reference the money harness trusts, on hand-worked cases.
        @Test func moneyReferenceAgreesWithHandWorkedCases() {
            let cases: [(String, Money.Reading)] = [
                ("19.00", .value(Money(units: 190_000))), ("-3.5", .value(Money(units: -35_000))), ("1e2", .value(Money(100))),
                ("+.5", .value(Money(units: 5_000))), ("5.", .value(Money(5))), ("0.00005", .value(.zero)),
                ("0.00015", .value(Money(units: 2))), ("0.000151", .value(Money(units: 2))), ("6e-6", .value(.zero)),
                ("5e-5", .value(.zero)), ("6e-5", .value(Money(units: 1))), ("1.5e-4", .value(Money(units: 2))),
                ("999999999999.9999", .value(Money(units: 9_999_999_999_999_999))), ("999999999999.99995", .outOfRange),
                ("1000000000000", .outOfRange), ("922337203685477.58076", .outOfRange), ("1e-9223372036854775808", .value(.zero)),
                ("0e999999999", .value(.zero)), ("-0.00001", .value(.zero)), ("1e", .invalid), (".", .invalid), ("1.2.3", .invalid),
                ("--1", .invalid), ("1-", .invalid), ("", .invalid), ("e5", .invalid), ("1e+-5", .invalid),
                ("1e0011", .value(Money(100_000_000_000))),
            ]
            for (text, expected) in cases {
                #expect(FuzzChecks.referenceReading(text) == expected, "\(text)")
            }
            #expect(FuzzChecks.referenceDescription(Int64.max) == "922337203685477.58")
            #expect(FuzzChecks.referenceDescription(Int64.min) == "-922337203685477.58")
            #expect(FuzzChecks.referenceDescription(-49) == "0.00")
            #expect(FuzzChecks.referenceDescription(-50) == "-0.01")
            #expect(FuzzChecks.exactText(-1) == "-0.0001")
        }
    }
#endif
