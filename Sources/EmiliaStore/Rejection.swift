public import EmiliaModel
public import Foundation

/// A refused request of a known token: why, and the start of what was sent.
public struct Rejection: Sendable, Hashable {
    public var tokenID: String
    public var environment: DeploymentEnvironment?
    public var at: Date
    public var status: Int
    public var reason: String
    /// For 400s, the first 64 KiB of the body.
    public var bodyPrefix: Data?
    public var requestID: String?
    /// How many refusals this record stands for (more than 1 when a flood was aggregated into counts).
    public var count: Int

    public init(
        tokenID: String, environment: DeploymentEnvironment?, at: Date, status: Int, reason: String,
        bodyPrefix: Data?, requestID: String?, count: Int = 1
    ) {
        self.tokenID = tokenID
        self.environment = environment
        self.at = at
        self.status = status
        self.reason = reason
        self.bodyPrefix = bodyPrefix
        self.requestID = requestID
        self.count = count
    }

    /// How much of a rejected body is kept.
    public static let bodyPrefixLimit = 64 * 1024
}
