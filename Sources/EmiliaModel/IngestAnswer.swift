public import Foundation

/// The webhook's 200 answer (docs/contract.md §1): written by the server, read by the Swift client.
public struct IngestAnswer: Sendable, Hashable, Codable {
    /// Always `received`.
    public var status: String
    public var eventID: String
    /// RFC 3339, UTC.
    public var receivedAt: String
    /// `dev` or `prod`.
    public var env: String
    /// True when the dedup key was seen before: nothing new was stored, and `eventID` is the first copy's.
    public var isDuplicate: Bool
    /// The stored event's warnings (empty when clean). Codes this side does not know are left out when decoding.
    public var warnings: [ValidationWarning]

    public init(eventID: String, receivedAt: Date, env: String, isDuplicate: Bool, warnings: [ValidationWarning]) {
        status = "received"
        self.eventID = eventID
        self.receivedAt = Timestamp.formatUTC(receivedAt)
        self.env = env
        self.isDuplicate = isDuplicate
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case status, env, warnings
        case eventID = "event_id"
        case receivedAt = "received_at"
        case isDuplicate = "duplicate"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = try container.decode(String.self, forKey: .status)
        eventID = try container.decode(String.self, forKey: .eventID)
        receivedAt = try container.decode(String.self, forKey: .receivedAt)
        env = try container.decode(String.self, forKey: .env)
        isDuplicate = try container.decode(Bool.self, forKey: .isDuplicate)
        warnings = try container.decode([KnownWarning].self, forKey: .warnings).compactMap(\.warning)
    }

    /// A warning, or nil for one with a code from a newer server.
    private struct KnownWarning: Decodable {
        let warning: ValidationWarning?

        init(from decoder: any Decoder) throws {
            warning = try? ValidationWarning(from: decoder)
        }
    }

    /// The answer's JSON as the ingest path writes it, without an encoder: `warningsJSON` is the warnings' JSON as
    /// the store keeps it (`JSONText.warnings`). Decodes to the answer with those warnings.
    public static func json(eventID: String, receivedAt: Date, env: String, isDuplicate: Bool, warningsJSON: String) -> String {
        "{\"status\":\"received\",\"event_id\":\(JSONText.quoted(eventID)),\"received_at\":\"\(Timestamp.formatUTC(receivedAt))\""
            + ",\"env\":\(JSONText.quoted(env)),\"duplicate\":\(isDuplicate),\"warnings\":\(warningsJSON)}"
    }
}
