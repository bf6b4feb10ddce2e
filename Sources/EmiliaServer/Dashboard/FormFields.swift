import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body, read with a small size limit.
struct FormFields: Sendable {
    private var values: [String: String] = [:]

    subscript(name: String) -> String? { values[name] }

    static func read(_ request: Request) async throws -> FormFields {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        return FormFields(String(buffer: buffer))
    }

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            values[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
    }
}
