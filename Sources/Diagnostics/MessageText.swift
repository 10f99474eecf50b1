/// Text built as UTF-8 bytes, part by part, each part copied once.
///
/// Findings are made for most guests of a batch compile (a missing kernel
/// file is a note), and `+` between strings, interpolation and appends
/// through `String.UTF8View` (byte by byte) cost more than the rest of
/// their reporting.
public struct MessageText {
    private var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// The text so far.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends `part`'s bytes in one copy.
    public static func += (text: inout MessageText, part: String) {
        var part = part
        part.withUTF8 { text.bytes.append(contentsOf: $0) }
    }

    /// Appends `number` in decimal; returns how many characters that took.
    @discardableResult
    public mutating func append(_ number: some BinaryInteger) -> Int {
        let digits = String(number)
        self += digits
        return digits.utf8.count
    }

    /// `count` copies of an ASCII character; none when `count` < 1.
    public mutating func `repeat`(_ character: Unicode.Scalar, _ count: Int) {
        bytes.append(contentsOf: repeatElement(UInt8(character.value), count: max(count, 0)))
    }
}
