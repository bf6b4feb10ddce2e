import EmiliaModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A stand-in webhook endpoint that answers from a script (500, 429 with Retry-After, a hang, …) and records
/// every attempt, for testing what the client does with each answer.
final class ScriptedServer: Sendable {
    enum Answer: Sendable {
        case status(Int, retryAfter: Int? = nil)
        case hang
        case ok
    }

    struct Attempt: Sendable {
        var idempotencyKey: String?
        var body: String
    }

    private let script: Mutex<[Answer]>
    private let answer: (@Sendable (Attempt) -> Answer)?
    private let recorded = Mutex<[Attempt]>([])

    init(_ script: [Answer]) {
        self.script = Mutex(script)
        answer = nil
    }

    /// Answers each attempt with what `answer` decides (e.g. from a simulated clock).
    init(answer: @escaping @Sendable (Attempt) -> Answer) {
        script = Mutex([])
        self.answer = answer
    }

    var attempts: [Attempt] { recorded.withLock { $0 } }

    /// Runs `body` with the server listening on a free loopback port.
    func run<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/webhooks/v1/pos/:token") { request, _ -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 11 * 1024 * 1024))
            let attempt = Attempt(idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!], body: text)
            self.recorded.withLock { $0.append(attempt) }
            let answer = self.answer?(attempt) ?? self.script.withLock { $0.isEmpty ? .ok : $0.removeFirst() }
            switch answer {
            case .ok:
                let id = UUID().uuidString.lowercased()
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(
                        byteBuffer: ByteBuffer(
                            string: IngestAnswer.json(eventID: id, receivedAt: Date(), env: "dev", isDuplicate: false, warningsJSON: "[]")))
                )
            case .status(let code, let retryAfter):
                var headers: HTTPFields = [.contentType: "application/json"]
                if let retryAfter { headers[.retryAfter] = String(retryAfter) }
                return Response(
                    status: .init(code: code), headers: headers,
                    body: .init(byteBuffer: ByteBuffer(string: #"{"detail":"scripted \#(code)"}"#)))
            case .hang:
                try await Task.sleep(for: .seconds(6))
                return Response(status: .ok)
            }
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) },
            logger: Logger(label: "scripted", factory: { _ in SwiftLogNoOpLogHandler() }))
        let group = ServiceGroup(services: [app], logger: Logger(label: "scripted", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { continuation.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await tasks.waitForAll()
                throw TestFailure("the scripted server stopped before it listened")
            }
            defer { tasks.cancelAll() }
            let result = try await body("http://127.0.0.1:\(port)")
            await group.triggerGracefulShutdown()
            return result
        }
    }
}

/// A retry environment that records the waits instead of sleeping, with fixed dice.
final class RecordedWaits: Sendable {
    private let waits = Mutex<[Duration]>([])
    var all: [Duration] { waits.withLock { $0 } }
    func record(_ duration: Duration) { waits.withLock { $0.append(duration) } }
}

/// A TCP server that reads the request and closes the connection without answering.
enum DroppingServer {
    final class CloseOnRead: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.close(promise: nil)
        }
    }

    /// Runs `body` with the server listening on a free loopback port.
    static func run<T>(_ body: (String) async throws -> T) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in channel.pipeline.addHandler(CloseOnRead()) }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        return try await body("http://127.0.0.1:\(channel.localAddress!.port!)")
    }
}
