public import AsyncHTTPClient
import NIOSSL

extension HTTPClient {
    /// Runs `body` with an HTTP client for `WebhookClient`, shut down afterwards. It fails a connection at once
    /// instead of retrying it until the deadline (the `WebhookClient` has its own retry policy, and a certificate
    /// that is not trusted never gets better), and it also trusts the CA certificates in `caFile` (PEM) when given,
    /// for a server with a self-signed or private certificate. Throws at once when that file holds no certificate.
    public static func withWebhookHTTPClient<Result: Sendable>(
        trustingCAFile caFile: String?,
        _ body: (HTTPClient) async throws -> Result
    ) async throws -> Result {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        if let caFile {
            let certificates = try NIOSSLCertificate.fromPEMFile(caFile)
            guard !certificates.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.certificates(certificates)]
            configuration.tlsConfiguration = tls
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
