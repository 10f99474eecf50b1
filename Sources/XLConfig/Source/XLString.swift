/// A string value as xl sees it (escapes decoded, `+=` pieces joined),
/// remembering where in the file each byte was written, so that an error
/// inside a disk or virtio spec points at the exact character.
struct XLString: Sendable {
    /// The decoded bytes.
    private(set) var bytes: [UInt8]
    /// Where the decoded bytes come from, in order: each escape and each
    /// `+=` piece starts a run, so the map costs nothing per byte. Empty
    /// for a value that is one plain run from `plainStart`, as most are.
    private var runs: [Run]
    /// Where decoded byte 0 was written, when `runs` is empty.
    private var plainStart: Int
    /// The file offset just after the content (the closing quote), for
    /// positions at the very end of the value.
    private(set) var endOffset: Int

    /// Decoded bytes from `decodedStart` on, written from `fileStart` on:
    /// one to one for plain bytes; an escape run is the single byte a
    /// two-byte escape (`\n`) decodes to.
    private struct Run: Sendable {
        var decodedStart: Int
        var fileStart: Int
        var isEscape: Bool
    }

    /// A value written without escapes at `offset` (a number token, or a
    /// string with no backslash).
    init(plain bytes: [UInt8], at offset: Int) {
        self.bytes = bytes
        runs = []
        plainStart = offset
        endOffset = offset + bytes.count
    }

    /// An empty value to decode content ending at `endOffset` into, with
    /// the `append(plain:at:)` and `append(escaped:at:)` steps.
    init(capacity: Int, endOffset: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
        runs = []
        plainStart = endOffset
        self.endOffset = endOffset
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The text of a slice of decoded bytes.
    func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// Appends a byte written as itself at file `offset`.
    mutating func append(plain byte: UInt8, at offset: Int) {
        let continuesRun = runs.last.map { !$0.isEscape && $0.fileStart + (bytes.count - $0.decodedStart) == offset } ?? false
        if !continuesRun { runs.append(Run(decodedStart: bytes.count, fileStart: offset, isEscape: false)) }
        bytes.append(byte)
    }

    /// Appends the byte a two-byte escape at file `offset` decodes to.
    mutating func append(escaped byte: UInt8, at offset: Int) {
        runs.append(Run(decodedStart: bytes.count, fileStart: offset, isEscape: true))
        bytes.append(byte)
    }

    /// Appends `other` (xl's `+=` on strings).
    mutating func append(_ other: XLString) {
        let shift = bytes.count
        runs = explicitRuns
        runs += other.explicitRuns.map { Run(decodedStart: $0.decodedStart + shift, fileStart: $0.fileStart, isEscape: $0.isEscape) }
        bytes += other.bytes
        endOffset = other.endOffset
    }

    /// `runs`, with the implicit plain run written out.
    private var explicitRuns: [Run] {
        runs.isEmpty && !bytes.isEmpty ? [Run(decodedStart: 0, fileStart: plainStart, isEscape: false)] : runs
    }

    /// The file range decoded byte `index` (inside the value) came from.
    private func origin(_ index: Int) -> Range<Int> {
        guard !runs.isEmpty else { return (plainStart + index)..<(plainStart + index + 1) }
        var low = 0, high = runs.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if runs[mid].decodedStart <= index { low = mid } else { high = mid - 1 }
        }
        let run = runs[low]
        if run.isEscape { return run.fileStart..<(run.fileStart + 2) }
        let offset = run.fileStart + (index - run.decodedStart)
        return offset..<(offset + 1)
    }

    /// The file range of decoded bytes `range`: from the first byte's origin
    /// to the last one's end. An empty range is one column at its position.
    func fileRange(_ range: Range<Int>, in source: SourceText) -> Range<Int> {
        let low = min(max(range.lowerBound, 0), bytes.count)
        let high = min(max(range.upperBound, low), bytes.count)
        guard low < high else {
            let at = low < bytes.count ? origin(low).lowerBound : endOffset
            return at..<(at + 1)
        }
        let first = origin(low), last = origin(high - 1)
        // One plain run is one quoted string, which never spans lines; only
        // `+=` pieces can, and then the first byte's line is shown.
        guard runs.isEmpty || source.sameLine(first.lowerBound, last.lowerBound), last.upperBound >= first.lowerBound else {
            return first
        }
        return first.lowerBound..<last.upperBound
    }
}
