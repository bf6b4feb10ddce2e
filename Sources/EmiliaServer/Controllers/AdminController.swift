import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird
import Logging

/// The admin API under `/api/v1` (behind `AdminAuthMiddleware`): tokens, events, rejections.
struct AdminController: Sendable {
    let store: any EventStore
    let configuration: ServerConfiguration

    func addRoutes(to group: some RouterMethods<EmiliaRequestContext>) {
        group.post("tokens", use: createToken)
        group.get("tokens", use: listTokens)
        group.get("tokens/:id", use: showToken)
        group.post("tokens/:id/deactivate") { _, context in try await self.setStatus(.inactive, context: context) }
        group.post("tokens/:id/reactivate") { _, context in try await self.setStatus(.active, context: context) }
        group.post("tokens/:id/rotate", use: rotateToken)
        group.get("events/:id", use: showEvent)
        group.get("events/:id/raw", use: rawEvent)
        group.get("rejections", use: listRejections)
    }

    @Sendable func createToken(_ request: Request, context: EmiliaRequestContext) async throws -> EditedResponse<TokenResponse> {
        let input: CreateTokenRequest
        do {
            input = try await request.decode(as: CreateTokenRequest.self, context: context)
        } catch let timedOut as BodyDeadlineHandler.BodyTimedOut {
            throw timedOut
        } catch {
            throw RequestError.invalidParameter("Expected a JSON body {\"name\": \"...\", \"timezone\": \"America/Sao_Paulo\"}")
        }
        let issued = try await store.createToken(name: input.name, timeZone: input.timezone ?? configuration.defaultTimeZone)
        context.logger.info("Token created", metadata: ["token_prefix": .string(issued.record.prefix)])
        return EditedResponse(status: .created, response: TokenResponse(issued.record, token: issued.token))
    }

    @Sendable func listTokens(_ request: Request, context: EmiliaRequestContext) async throws -> TokenListResponse {
        TokenListResponse(tokens: try await store.listTokens().map { TokenResponse($0) })
    }

    @Sendable func showToken(_ request: Request, context: EmiliaRequestContext) async throws -> TokenResponse {
        let id = try context.parameters.require("id")
        guard let record = try await store.token(id: id) else { throw RequestError.notFound("No token with id \(id)") }
        return TokenResponse(record)
    }

    func setStatus(_ status: TokenStatus, context: EmiliaRequestContext) async throws -> TokenResponse {
        let id = try context.parameters.require("id")
        let record = try await store.setTokenStatus(id: id, status)
        context.logger.info("Token status changed", metadata: ["token_prefix": .string(record.prefix), "status": .string(status.rawValue)])
        return TokenResponse(record)
    }

    @Sendable func rotateToken(_ request: Request, context: EmiliaRequestContext) async throws -> TokenResponse {
        let id = try context.parameters.require("id")
        let issued = try await store.rotateToken(id: id, grace: configuration.rotationGrace)
        context.logger.info("Token rotated", metadata: ["token_prefix": .string(issued.record.prefix)])
        return TokenResponse(issued.record, token: issued.token)
    }

    @Sendable func showEvent(_ request: Request, context: EmiliaRequestContext) async throws -> EventResponse {
        let id = try context.parameters.require("id")
        guard let event = try await store.event(id: id) else { throw RequestError.notFound("No event with id \(id)") }
        return EventResponse(event)
    }

    @Sendable func rawEvent(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let body = try await store.rawBody(eventID: id) else {
            throw RequestError.notFound("No event with id \(id)")
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    @Sendable func listRejections(_ request: Request, context: EmiliaRequestContext) async throws -> RejectionListResponse {
        guard let tokenID = request.uri.queryParameters.get("token_id") else {
            throw RequestError.invalidParameter("token_id is required")
        }
        let limit = min(1000, max(1, request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 100))
        var environment: DeploymentEnvironment?
        if let value = request.uri.queryParameters.get("env") {
            guard let parsed = DeploymentEnvironment(queryValue: value) else {
                throw RequestError.invalidParameter("Unknown env '\(value)': use 'dev' or 'prod'")
            }
            environment = parsed
        }
        let rejections = try await store.rejections(tokenID: tokenID, environment: environment, limit: limit)
        return RejectionListResponse(rejections: rejections.map(RejectionResponse.init))
    }
}
