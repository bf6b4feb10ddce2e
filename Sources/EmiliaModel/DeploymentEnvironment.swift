/// The two worlds a token posts into; their data never mix.
public enum DeploymentEnvironment: String, Sendable, Codable, CaseIterable {
    case dev
    case prod

    /// Reads `?env=` (any case); nil for anything but dev or prod.
    public init?(queryValue: String) {
        self.init(rawValue: queryValue.lowercased())
    }
}
