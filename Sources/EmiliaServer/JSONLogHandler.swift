import EmiliaModel
import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line to standard error:
/// `{"ts":…,"level":…,"label":…,"msg":…, <metadata>}`. Messages are constant; data is in metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private static let output = Mutex<FileHandle>(FileHandle.standardError)

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":\"\(Timestamp.formatUTC(Date()))\",\"level\":\"\(event.level.rawValue)\",\"label\":\(JSONText.quoted(label)),\"msg\":\(JSONText.quoted(event.message.description))"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() {
            line += ",\(JSONText.quoted(key)):\(JSONText.quoted(merged[key]!.description))"
        }
        line += "}\n"
        let data = Data(line.utf8)
        Self.output.withLock { $0.write(data) }
    }
}
