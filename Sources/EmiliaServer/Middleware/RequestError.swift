import HTTPTypes

/// A request the server cannot serve as asked: an opaque code that `APIError` gives its status, and the sentence the
/// caller reads. Controllers throw these; none of them picks a status.
struct RequestError: Error, Sendable {
    /// What is wrong with the request.
    struct Code: Hashable, Sendable {
        private enum Value {
            case invalidParameter
            case notFound
            case staleForm
            case methodNotAllowed
        }

        private let value: Value

        /// A query parameter or body field the API cannot read.
        static let invalidParameter = Code(value: .invalidParameter)
        /// The named token, event or session does not exist (in this env).
        static let notFound = Code(value: .notFound)
        /// A dashboard form without a valid CSRF token.
        static let staleForm = Code(value: .staleForm)
        /// A method the route does not take (the allowed ones in `Allow`).
        static let methodNotAllowed = Code(value: .methodNotAllowed)
    }

    let code: Code
    let detail: String
    var headers: HTTPFields = [:]

    static func invalidParameter(_ detail: String) -> RequestError { RequestError(code: .invalidParameter, detail: detail) }

    static func notFound(_ detail: String) -> RequestError { RequestError(code: .notFound, detail: detail) }

    static let staleForm = RequestError(
        code: .staleForm, detail: "The form is stale or came from another site; reload the page and try again.")

    static func methodNotAllowed(allowing method: String) -> RequestError {
        RequestError(code: .methodNotAllowed, detail: "Method not allowed: use \(method)", headers: [.allow: method])
    }
}
