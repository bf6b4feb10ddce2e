import HTTPTypes
import Hummingbird
import Synchronization

/// Every route added to the server's router, as `METHOD /path/{parameter}`: what the OpenAPI document must cover.
final class RouteTable: Sendable {
    private let routes = Mutex<[String]>([])

    /// The routes in the order they were added.
    var all: [String] { routes.withLock { $0 } }

    fileprivate func add(_ method: HTTPRequest.Method, _ path: RouterPath) {
        // A path reads `/tokens/{id}` (captures as OpenAPI writes them), with one leading slash.
        routes.withLock { $0.append("\(method.rawValue) \(path.description)") }
    }
}

/// The server's router, recording each route it is given in a `RouteTable` (groups made from it record theirs too).
struct RecordingRouter: RouterMethods {
    typealias Context = EmiliaRequestContext

    let router: Router<EmiliaRequestContext>
    let table: RouteTable

    @discardableResult func on<Responder: HTTPResponder>(
        _ path: RouterPath, method: HTTPRequest.Method,
        responder: Responder
    ) -> Self where Responder.Context == Context {
        table.add(method, path)
        router.on(path, method: method, responder: responder)
        return self
    }

    @discardableResult func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }
}
