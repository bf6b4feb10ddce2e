/// Storage failures, with stable codes; the server maps them to statuses in one place.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure: compare with `==` (new codes may come; a switch needs a `default`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case unavailable
            case notFound
            case invalidInput
        }

        private let value: Value

        /// The store cannot take writes now (disk, lock, shutdown, queue full): retry later.
        public static let unavailable = Code(value: .unavailable)
        /// The named thing does not exist.
        public static let notFound = Code(value: .notFound)
        /// The input is not acceptable (e.g. an unknown time zone).
        public static let invalidInput = Code(value: .invalidInput)

        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
