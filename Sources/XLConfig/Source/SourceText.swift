import Diagnostics

/// One input file's bytes with a line index: turns byte offsets into
/// 1-based lines and byte columns (a tab is one column), with the line's
/// text for the caret display.
struct SourceText: Sendable {
    let file: String
    let bytes: [UInt8]
    /// Offset of the first byte of each line.
    private let lineStarts: [Int]
    /// Offset just past each line's last content byte (before `\r\n` or `\n`).
    private let lineEnds: [Int]
    /// Each line's text as findings show it, made once: many findings on
    /// one long line share it. Control characters other than tab become
    /// `?`, one column each, so a config cannot drive the terminal.
    private let lineTexts: [String]

    init(file: String, bytes: [UInt8]) {
        self.file = file
        self.bytes = bytes
        var starts = [0]
        for offset in bytes.indices where bytes[offset] == Ascii.newline {
            starts.append(offset + 1)
        }
        // A final newline ends the last line; it does not start another.
        if starts.count > 1, starts.last == bytes.count { starts.removeLast() }
        var ends: [Int] = []
        var texts: [String] = []
        ends.reserveCapacity(starts.count)
        texts.reserveCapacity(starts.count)
        for index in starts.indices {
            let start = starts[index]
            var end = index + 1 < starts.count ? starts[index + 1] : bytes.count
            if end > start, bytes[end - 1] == Ascii.newline { end -= 1 }
            if end > start, bytes[end - 1] == Ascii.carriageReturn { end -= 1 }
            ends.append(end)
            texts.append(Self.displayText(bytes[start..<end]))
        }
        lineStarts = starts
        lineEnds = ends
        lineTexts = texts
    }

    /// A line as findings show it: control characters other than tab become `?`.
    private static func displayText(_ line: ArraySlice<UInt8>) -> String {
        let text = String(decoding: line, as: UTF8.self)
        // Printable ASCII and tabs, as nearly every config line is,
        // need no look at the decoded scalars.
        var plain = true
        for byte in line where (byte < 0x20 && byte != Ascii.tab) || byte >= 0x7f {
            plain = false
            break
        }
        guard !plain else { return text }
        guard text.unicodeScalars.contains(where: { Printable.isControl($0) && $0 != "\t" }) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { Printable.isControl($0) && $0 != "\t" ? "?" : $0 }))
    }

    var lineCount: Int { lineStarts.count }

    /// The 0-based line index holding `offset` (offsets past the end belong to the last line).
    private func lineIndex(of offset: Int) -> Int {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// The text of a 1-based line without its line ending.
    func lineText(_ line: Int) -> String { lineTexts[min(max(line - 1, 0), lineTexts.count - 1)] }

    /// The location of `length` bytes at `offset`. The caret never runs past
    /// the end of the line; an offset at a line end (or the file end) points
    /// just after the line's last character.
    func location(offset: Int, length: Int = 1) -> SourceLocation {
        let clamped = min(max(offset, 0), bytes.count)
        let index = lineIndex(of: clamped)
        let start = lineStarts[index]
        let column = min(clamped, lineEnds[index]) - start + 1
        let room = lineEnds[index] - start + 1 - column
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
