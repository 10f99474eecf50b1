/// Scans of long byte runs (lines, string contents) eight bytes at a time:
/// bit tricks test a whole word in a few instructions where a byte loop
/// costs several a byte. A word test is exact about whether some byte
/// matches, not about which one, so the match itself is found byte by byte.
enum ByteWords {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether some byte of `word` is below `limit` (at most 0x80); bytes
    /// with the high bit set never count.
    static func hasByte(below limit: UInt64, in word: UInt64) -> Bool { (word &- ones &* limit) & ~word & highBits != 0 }

    /// Whether some byte of `word` is `byte`.
    static func hasByte(_ byte: UInt8, in word: UInt64) -> Bool { hasByte(below: 1, in: word ^ (ones &* UInt64(byte))) }

    /// The offset of the first byte from `start` on that `isStop` accepts,
    /// or the end. `wordMayStop` must hold for every word with such a byte.
    @inline(__always)
    static func firstStop(in bytes: UnsafeBufferPointer<UInt8>, from start: Int,
                          wordMayStop: (UInt64) -> Bool, isStop: (UInt8) -> Bool) -> Int {
        var index = max(start, 0)
        if let base = UnsafeRawPointer(bytes.baseAddress) {
            while index + 8 <= bytes.count, !wordMayStop(base.loadUnaligned(fromByteOffset: index, as: UInt64.self)) { index += 8 }
        }
        while index < bytes.count, !isStop(bytes[index]) { index += 1 }
        return index
    }
}
