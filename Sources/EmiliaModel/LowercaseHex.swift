/// Lowercase hexadecimal text, written by hand: hot paths (event ids, dedup keys, token hashes) never format
/// through `sprintf`.
public enum LowercaseHex {
    /// Two digits for each byte, with a dash before each byte whose offset is in `dashesBefore`.
    public static func text(of bytes: UnsafeRawBufferPointer, dashesBefore: [Int] = []) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2 + dashesBefore.count) { output in
            var position = 0
            for (offset, byte) in bytes.enumerated() {
                if dashesBefore.contains(offset) {
                    output[position] = UInt8(ascii: "-")
                    position += 1
                }
                output[position] = digits.utf8Start[Int(byte >> 4)]
                output[position + 1] = digits.utf8Start[Int(byte & 0x0F)]
                position += 2
            }
            return position
        }
    }
}
