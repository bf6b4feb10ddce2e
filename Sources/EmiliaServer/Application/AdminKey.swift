public import Foundation

/// Where the admin key comes from: `EMILIA_ADMIN_KEY`, else a key generated once and kept in the data dir.
public enum AdminKey {
    /// The file, inside the data directory, that holds a generated key (mode 0600).
    public static let fileName = "admin.key"

    /// The resolved key and whether it was generated just now (then it is printed once).
    public struct Resolution: Sendable {
        public var key: String
        public var isGenerated: Bool
        /// The file holding it, when it came from the data directory.
        public var file: URL?
    }

    /// Reads or creates the admin key. An explicit key must be at least 16 characters.
    public static func resolve(explicit: String?, dataDirectory: URL) throws -> Resolution {
        if let explicit, !explicit.isEmpty {
            guard explicit.count >= 16 else { throw AdminKeyError.tooShort }
            return Resolution(key: explicit, isGenerated: false, file: nil)
        }
        let file = dataDirectory.appendingPathComponent(fileName)
        if let stored = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
            !stored.isEmpty
        {
            return Resolution(key: stored, isGenerated: false, file: file)
        }
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let key = "emk_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        guard
            FileManager.default.createFile(
                atPath: file.path, contents: Data((key + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else {
            throw AdminKeyError.cannotWrite(file.path)
        }
        return Resolution(key: key, isGenerated: true, file: file)
    }
}

/// Why no admin key could be had.
public enum AdminKeyError: Error, CustomStringConvertible {
    case tooShort
    case cannotWrite(String)

    public var description: String {
        switch self {
        case .tooShort: return "EMILIA_ADMIN_KEY must be at least 16 characters"
        case .cannotWrite(let path): return "cannot write the admin key to \(path)"
        }
    }
}
