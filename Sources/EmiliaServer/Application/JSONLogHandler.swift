import EmiliaModel
public import Foundation
public import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line to standard error:
/// `{"ts":…,"level":…,"label":…,"msg":…, <metadata>}`. Messages are constant; data is in metadata.
///
/// A line that cannot be written (a full disk, a closed pipe) is dropped and counted, never fatal: logging must not
/// stop the server. Lines are written with `write(2)`, which reports errors instead of trapping.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let descriptor: Int32
    private static let output = Mutex<Int>(0)

    /// How many lines could not be written since the process started.
    public static var droppedLines: Int { output.withLock { $0 } }

    public init(label: String, level: Logger.Level = .info, descriptor: Int32 = STDERR_FILENO) {
        self.label = label
        self.logLevel = level
        self.descriptor = descriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line =
            "{\"ts\":\"\(Timestamp.formatUTC(Date()))\",\"level\":\"\(event.level.rawValue)\",\"label\":\(JSONText.quoted(label)),\"msg\":\(JSONText.quoted(event.message.description))"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() {
            line += ",\(JSONText.quoted(key)):\(JSONText.quoted(merged[key]!.description))"
        }
        line += "}\n"
        Self.output.withLock { dropped in
            if !Self.writeAll(Array(line.utf8), to: descriptor) { dropped += 1 }
        }
    }

    /// Writes every byte, retrying interrupted and partial writes; false when the output refuses them.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
