/// A string value as xl sees it (escapes decoded, `+=` pieces joined),
/// remembering for every byte where in the file it was written, so that
/// an error inside a disk or virtio spec points at the exact character.
struct XLString: Sendable, Hashable {
    /// The decoded bytes.
    private(set) var bytes: [UInt8]
    /// For each decoded byte, the file range it came from (`\n` comes from two bytes).
    private(set) var origins: [Range<Int>]
    /// The file offset just after the content (the closing quote), for
    /// positions at the very end of the value.
    private(set) var endOffset: Int

    init(bytes: [UInt8], origins: [Range<Int>], endOffset: Int) {
        precondition(bytes.count == origins.count)
        self.bytes = bytes
        self.origins = origins
        self.endOffset = endOffset
    }

    /// A value written without escapes at `offset` (a number token).
    init(plain bytes: [UInt8], at offset: Int) {
        self.init(bytes: bytes, origins: bytes.indices.map { (offset + $0)..<(offset + $0 + 1) }, endOffset: offset + bytes.count)
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends `other` (xl's `+=` on strings).
    mutating func append(_ other: XLString) {
        bytes += other.bytes
        origins += other.origins
        endOffset = other.endOffset
    }

    /// The text of a slice of decoded bytes.
    func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// The file range of decoded bytes `range`: from the first byte's origin
    /// to the last one's end. An empty range is one column at its position.
    func fileRange(_ range: Range<Int>, in source: SourceText) -> Range<Int> {
        let low = min(max(range.lowerBound, 0), bytes.count)
        let high = min(max(range.upperBound, low), bytes.count)
        guard low < high else {
            let at = low < origins.count ? origins[low].lowerBound : endOffset
            return at..<(at + 1)
        }
        let first = origins[low], last = origins[high - 1]
        guard source.sameLine(first.lowerBound, last.lowerBound), last.upperBound >= first.lowerBound else {
            return first
        }
        return first.lowerBound..<last.upperBound
    }
}
