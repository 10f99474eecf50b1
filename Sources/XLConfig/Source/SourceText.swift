import Diagnostics
import Glibc

/// One input file's bytes with a line index: turns byte offsets into
/// 1-based lines and byte columns (a tab is one column), with the line's
/// text for the caret display.
struct SourceText: Sendable {
    let file: String
    let bytes: [UInt8]
    /// The lines in file order (a final newline starts no line).
    private let lines: [Line]

    private struct Line: Sendable {
        /// Offset of the line's first byte.
        var start: Int
        /// Offset just past its last content byte (before `\r\n` or `\n`).
        var end: Int
        /// The text as findings show it, made once: many findings on one
        /// long line share it. Control characters other than tab become
        /// `?`, one column each, so a config cannot drive the terminal.
        var text: String
    }

    init(file: String, bytes: [UInt8]) {
        self.file = file
        self.bytes = bytes
        var lines: [Line] = []
        // Config lines average well under 32 bytes: usually no regrowth.
        lines.reserveCapacity(bytes.count / 32 + 1)
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            repeat {
                let end = Self.newline(in: buffer, from: start)
                // A final newline ends the last line; it does not start another.
                if start == end, end == buffer.count, !lines.isEmpty { break }
                lines.append(Self.line(buffer, start..<end))
                start = end + 1
            } while start <= buffer.count
        }
        self.lines = lines
    }

    /// The line `range` (without its `\n`); a `\r` before the newline is not part of it.
    private static func line(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Line {
        var end = range.upperBound
        if end > range.lowerBound, bytes[end - 1] == Ascii.carriageReturn { end -= 1 }
        return Line(start: range.lowerBound, end: end, text: displayText(UnsafeBufferPointer(rebasing: bytes[range.lowerBound..<end])))
    }

    /// Offset of the first newline at or after `start`, or the end. `memchr`
    /// finds lines at memory speed, a byte loop costs ten instructions a byte.
    private static func newline(in buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = buffer.baseAddress, start < buffer.count,
              let found = memchr(base + start, Int32(Ascii.newline), buffer.count - start) else { return buffer.count }
        return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
    }

    /// A line as findings show it: control characters other than tab become `?`.
    private static func displayText(_ line: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: line, as: UTF8.self)
        // Printable ASCII, as nearly every config line is, needs no look at the scalars.
        guard hasNonPrintable(line) else { return text }
        guard text.unicodeScalars.contains(where: { Printable.isControl($0) && $0 != "\t" }) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { Printable.isControl($0) && $0 != "\t" ? "?" : $0 }))
    }

    /// Whether a byte is outside printable ASCII (0x20...0x7e; a tab is outside too).
    static func hasNonPrintable(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let end = ByteWords.firstStop(in: bytes, from: 0, wordMayStop: { word in
            // Above 0x7e is a high bit or 0x7f.
            word & ByteWords.highBits != 0 || ByteWords.hasByte(below: 0x20, in: word) || ByteWords.hasByte(0x7f, in: word)
        }, isStop: { $0 < 0x20 || $0 > 0x7e })
        return end < bytes.count
    }

    var lineCount: Int { lines.count }

    /// The 0-based line index holding `offset` (offsets past the end belong to the last line).
    private func lineIndex(of offset: Int) -> Int {
        var low = 0, high = lines.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lines[mid].start <= offset { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// The text of a 1-based line without its line ending.
    func lineText(_ line: Int) -> String { lines[min(max(line - 1, 0), lines.count - 1)].text }

    /// The location of `length` bytes at `offset`. The caret never runs past
    /// the end of the line; an offset at a line end (or the file end) points
    /// just after the line's last character.
    func location(offset: Int, length: Int = 1) -> SourceLocation {
        let clamped = min(max(offset, 0), bytes.count)
        let index = lineIndex(of: clamped)
        let start = lines[index].start
        let column = min(clamped, lines[index].end) - start + 1
        let room = lines[index].end - start + 1 - column
        let span = max(1, min(length, room))
        return SourceLocation(file: file, line: index + 1, column: column, span: span, sourceLine: lineText(index + 1))
    }

    /// The location of the byte range, clamped to its first line.
    func location(_ range: Range<Int>) -> SourceLocation {
        location(offset: range.lowerBound, length: range.count)
    }

    /// Whether two offsets are on the same line.
    func sameLine(_ first: Int, _ second: Int) -> Bool { lineIndex(of: first) == lineIndex(of: second) }
}
