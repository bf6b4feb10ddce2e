import EmiliaIngest
import EmiliaModel
import EmiliaStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// `POST /webhooks/v1/pos/{token}?env=dev|prod`: adapts HTTP to the `Ingestor` (docs/contract.md §1). It reads the
/// body within the size limit and the memory budget, decompresses gzip, and records each refusal of a known token.
struct IngestController: Sendable {
    let ingestor: Ingestor
    let budget: ByteBudget
    let rejections: RejectionRecorder
    let metrics: ServerMetrics
    /// How long a body may take to arrive (for the 408's sentence).
    let bodyTimeout: Duration

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let path = "/webhooks/v1/pos"

    func addRoutes(to router: some RouterMethods<EmiliaRequestContext>) {
        router.post("\(Self.path)/:token", use: receive)
        router.post(RouterPath(Self.path), use: missingToken)
        for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head] {
            router.on("\(Self.path)/:token", method: method) { _, _ -> Response in
                throw RequestError.methodNotAllowed(allowing: "POST")
            }
        }
    }

    @Sendable func missingToken(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        var hint = "put the token in the path: POST /webhooks/v1/pos/{token}?env=dev"
        if let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
            hint = "the token goes in the URL path, not in the Authorization header: POST /webhooks/v1/pos/{token}"
        }
        throw IngestRefusal(.invalidToken, IngestRefusal.invalidTokenDetail, hint: hint)
    }

    /// Benchmarks only: `POST /unstored/webhooks/v1/pos/{token}` does all the real route does but store (token,
    /// limits, body, parsing, validation) and answers the same way: the request path's own ceiling.
    func addUnstoredRoute(to router: some RouterMethods<EmiliaRequestContext>) {
        router.post("/unstored\(Self.path)/:token") { request, context in
            try await receive(request, context: context, storing: false)
        }
    }

    @Sendable func receive(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        try await receive(request, context: context, storing: true)
    }

    private func receive(_ request: Request, context: EmiliaRequestContext, storing: Bool) async throws -> Response {
        let metadata = Ingestor.PostMetadata(
            env: request.uri.queryParameters.get("env").map { String($0) },
            declaredBytes: request.headers[.contentLength].flatMap(Int.init),
            contentEncoding: request.headers[.contentEncoding], contentType: request.headers[.contentType],
            idempotencyKey: request.headers[Self.idempotencyKeyHeader], requestID: context.requestID,
            requestIDWasSent: context.requestIDWasSent)
        var token: TokenRecord?
        do {
            let known = try await ingestor.token(
                context.parameters.get("token") ?? "", clientAddress: context.clientAddress, logger: context.logger)
            token = known
            let admission = try ingestor.admit(metadata, token: known)
            let reservation = budget.reserve(for: admission.token.id)
            defer { reservation.release() }
            let body = try await readBody(
                request, declaredBytes: metadata.declaredBytes ?? 0, admission: admission, reservation: reservation, context: context)
            let receipt =
                storing
                ? try await ingestor.ingest(body, admission: admission, metadata: metadata, logger: context.logger)
                : try ingestor.checkWithoutStoring(body, admission: admission, metadata: metadata)
            let answer = IngestAnswer.json(
                eventID: receipt.eventID, receivedAt: receipt.receivedAt, env: admission.environment.rawValue,
                isDuplicate: receipt.isDuplicate, warningsJSON: receipt.warningsJSON)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: answer)))
        } catch let refusal as IngestRefusal {
            if let token, refusal.isRecorded {
                rejections.record(refusal, token: token, requestID: context.requestID, logger: context.logger)
            } else if refusal.isCounted {
                metrics.recordRejection(reason: refusal.reason.code)
            }
            throw refusal
        }
    }

    /// The whole body within the size limit and the memory budget (answering `100 Continue` first when it was
    /// asked for), decompressed when it came as gzip.
    private func readBody(
        _ request: Request, declaredBytes declared: Int, admission: Ingestor.Admission, reservation: ByteBudget.Reservation,
        context: EmiliaRequestContext
    ) async throws -> Data {
        let (limit, environment) = (ingestor.limits.maximumBodyBytes, admission.environment)
        guard reservation.grow(by: declared) else { throw IngestRefusal.overBudget(environment: environment) }
        await context.acceptBody(of: request)
        var body: ByteBuffer
        switch try await BodyReader.read(request.body, limit: limit, reservation: reservation, reserved: declared) {
        case .complete(let buffer): body = buffer
        case .tooLarge: throw IngestRefusal.tooLarge(limit: limit, environment: environment)
        case .overBudget: throw IngestRefusal.overBudget(environment: environment)
        case .timedOut:
            let timedOut = BodyDeadlineHandler.BodyTimedOut(timeout: bodyTimeout)
            throw IngestRefusal(.timeout, timedOut.detail, environment: environment)
        }
        if admission.encoding == .gzip {
            // Each step of output is charged before it is written; the compressed bytes' charge goes back after.
            switch GzipBody.decompress(body, limit: limit, charge: reservation.grow(by:)) {
            case .decompressed(let decompressed):
                reservation.shrink(by: body.readableBytes)
                body = decompressed
            case .tooLarge: throw IngestRefusal.tooLarge(limit: limit, decompressed: true, environment: environment)
            case .overBudget: throw IngestRefusal.overBudget(environment: environment)
            case .invalid(let reason):
                // The compressed bytes would show as noise in the rejection's preview: none is kept.
                throw IngestRefusal(.invalidGzip, "Invalid gzip body: \(reason)", environment: environment)
            }
        }
        return Data(buffer: body, byteTransferStrategy: .copy)
    }
}
