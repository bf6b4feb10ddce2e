import Foundation

/// Unbuffered output, so a parent process (or a test) sees each line as soon as it is written. A line that cannot be
/// written (a full disk, a closed pipe) is dropped: output must never stop the server.
enum Console {
    static func line(_ text: String) { write(text + "\n", to: STDOUT_FILENO) }

    /// Text as it is, no newline added.
    static func raw(_ text: String) { write(text, to: STDOUT_FILENO) }

    /// One value as one line of JSON (snake_case keys as its `CodingKeys` name them, sorted).
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        line(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func error(_ text: String) { write(text + "\n", to: STDERR_FILENO) }

    private static func write(_ text: String, to descriptor: Int32) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
