/// Storage failures, with stable codes; the server maps them to statuses in one place.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The store cannot take writes now (disk, lock, shutdown, queue full): retry later.
        case unavailable
        /// The named thing does not exist.
        case notFound
        /// The input is not acceptable (e.g. an unknown time zone).
        case invalidInput
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
