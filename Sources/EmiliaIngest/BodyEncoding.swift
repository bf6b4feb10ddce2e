import Foundation

/// The webhook's `Content-Encoding`: none, or gzip, decompressed before anything reads the body.
public enum BodyEncoding: String, Sendable {
    case identity
    case gzip

    /// The encoding a `Content-Encoding` header names (`identity` entries ignored, `x-gzip` is gzip); nil for one
    /// Emilia cannot read (answered 415).
    public init?(header: String?) {
        let codings = (header ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty && $0 != "identity" }
        switch codings {
        case []: self = .identity
        case ["gzip"], ["x-gzip"]: self = .gzip
        default: return nil
        }
    }
}
