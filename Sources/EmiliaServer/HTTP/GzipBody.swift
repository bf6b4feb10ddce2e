import CZlib
import Foundation
import NIOCore

/// One gzip stream decompressed with a bound on its output, so a small body cannot expand past the size limit, and
/// with each step of output charged to a memory budget before it is written.
enum GzipBody {
    enum Outcome {
        case decompressed(ByteBuffer)
        /// The output passed `limit` (decompression stopped there).
        case tooLarge
        /// The budget could not spare the next step of output.
        case overBudget
        /// Not gzip, corrupt, truncated, or followed by other bytes: the reason.
        case invalid(String)
    }

    /// Output is produced in steps of at most this many bytes.
    private static let step = 64 * 1024

    /// - Parameter charge: takes room for this many more output bytes; false refuses them (`overBudget`).
    static func decompress(_ input: ByteBuffer, limit: Int, charge: (Int) -> Bool) -> Outcome {
        // zlib keeps the stream's address: it lives on the heap, where it never moves.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // 15 + 16: the largest window, gzip header and trailer (CRC and length checked by zlib).
        guard inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return .invalid("the decompressor could not start")
        }
        defer { inflateEnd(stream) }
        var output = ByteBuffer()
        return input.withUnsafeReadableBytes { compressed -> Outcome in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: compressed.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = UInt32(compressed.count)  // a ByteBuffer holds less than 4 GiB
            while true {
                // One byte past the limit is enough to know the body is too large.
                let room = min(step, limit + 1 - output.readableBytes)
                guard room > 0 else { return .tooLarge }
                guard charge(room) else { return .overBudget }
                var status = Z_OK
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { free in
                    stream.pointee.next_out = free.bindMemory(to: Bytef.self).baseAddress
                    stream.pointee.avail_out = UInt32(room)
                    status = inflate(stream, Z_NO_FLUSH)
                    return room - Int(stream.pointee.avail_out)
                }
                switch status {
                case Z_STREAM_END:
                    if output.readableBytes > limit { return .tooLarge }
                    if stream.pointee.avail_in != 0 { return .invalid("other bytes follow the end of the gzip stream") }
                    return .decompressed(output)
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                    return .invalid("the gzip stream ends early (a truncated body?)")
                case Z_DATA_ERROR:
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "corrupt data"
                    return .invalid("not a valid gzip stream (\(reason))")
                default:
                    return .invalid("the gzip stream could not be decompressed (zlib status \(status))")
                }
            }
        }
    }
}
