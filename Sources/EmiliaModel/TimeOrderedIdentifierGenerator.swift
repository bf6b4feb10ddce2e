public import Foundation

/// Makes time-ordered UUIDs (version 7): ids sort by creation time, so the event log is appended in key order.
///
/// Within one millisecond a 12-bit counter keeps ids strictly increasing. Not thread-safe on its own: one
/// owner (the store's writer) calls it.
public struct TimeOrderedIdentifierGenerator: Sendable {
    private var lastMillisecond: UInt64 = 0
    private var counter: UInt16 = 0

    public init() {}

    /// The next id for the instant `now`.
    public mutating func next(now: Date) -> UUID {
        var generator = SystemRandomNumberGenerator()
        return next(now: now, using: &generator)
    }

    /// A string that sorts (as lowercase text) after every id made before `instant` and before or at every id made
    /// from then on: the first 13 characters of such an id, which spell its millisecond.
    public static func lowerBound(at instant: Date) -> String {
        let millisecond = UInt64(max(0, instant.timeIntervalSince1970 * 1000))
        let hex = String(millisecond, radix: 16)
        let digits = String(repeating: "0", count: max(0, 12 - hex.count)) + hex
        return digits.prefix(8) + "-" + digits.suffix(4) + "-"
    }

    /// The next id, with injected randomness (for tests).
    public mutating func next(now: Date, using random: inout some RandomNumberGenerator) -> UUID {
        var millisecond = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        if millisecond <= lastMillisecond {
            millisecond = lastMillisecond
            counter += 1
            if counter > 0x0FFF {
                millisecond += 1
                counter = 0
            }
        } else {
            counter = UInt16.random(in: 0...0x01FF, using: &random)
        }
        lastMillisecond = millisecond
        let tail = random.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millisecond >> (8 * (5 - UInt64(index)))) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        for index in 8..<16 { bytes[index] = UInt8(truncatingIfNeeded: tail >> (8 * (15 - UInt64(index)))) }
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
