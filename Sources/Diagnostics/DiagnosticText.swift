/// The human format, like a compiler's:
///
///     guest.cfg:3:15: error[XL-UNQUOTED]: unquoted word 'v3'
///         3 | gic_version = v3
///           |               ^~
///     hint: strings need quotes: gic_version = "v3"
///
/// Tree findings have no line; they name the node instead:
///
///     guest.dtb: error[DT-IOMMUS-DANGLING]: /virtio@2000000: ...
///
/// Messages quote untrusted text (a blob's strings, a config's bytes), so
/// control characters are written as escapes: a finding keeps its lines
/// and cannot drive the terminal.
public enum DiagnosticText {
    public static func render(_ diagnostic: Diagnostic) -> String {
        var text = Text()
        if let file = diagnostic.file {
            text += Printable.escaped(file)
            if let line = diagnostic.line {
                text += ":"
                text.append(line)
                if let column = diagnostic.column {
                    text += ":"
                    text.append(column)
                }
            }
            text += ": "
        }
        text += diagnostic.severity.rawValue
        text += "["
        text += diagnostic.rule
        text += "]: "
        if diagnostic.line == nil, let node = diagnostic.node {
            text += Printable.escaped(node)
            text += ": "
        }
        text += Printable.escaped(diagnostic.message)
        text += "\n"
        if let source = diagnostic.sourceLine, let line = diagnostic.line {
            text += " "
            let gutter = text.append(line)
            text += " | "
            text += visible(source)
            text += "\n"
            if let column = diagnostic.column {
                text += " "
                text.repeat(" ", gutter)
                text += " | "
                text.repeat(" ", column - 1)
                text += "^"
                text.repeat("~", diagnostic.span - 1)
                text += "\n"
            }
        }
        if let hint = diagnostic.hint {
            text += "hint: "
            text += Printable.escaped(hint)
            text += "\n"
        }
        return text.string
    }

    /// A finding's text as UTF-8 bytes, appended part by part:
    /// `String(repeating:count:)`, interpolation and `+` between strings
    /// cost more than the rest of a compile's reporting.
    private struct Text {
        private var bytes: [UInt8] = []

        init() { bytes.reserveCapacity(256) }

        var string: String { String(decoding: bytes, as: UTF8.self) }

        /// Appends `part`'s bytes in one copy (through `String.UTF8View`,
        /// `append(contentsOf:)` goes byte by byte).
        static func += (text: inout Text, part: String) {
            var part = part
            part.withUTF8 { text.bytes.append(contentsOf: $0) }
        }

        /// Appends `number` in decimal; returns how many characters that took.
        @discardableResult
        mutating func append(_ number: Int) -> Int {
            let digits = String(number)
            self += digits
            return digits.utf8.count
        }

        /// `count` copies of an ASCII character; none when `count` < 1.
        mutating func `repeat`(_ character: Unicode.Scalar, _ count: Int) {
            bytes.append(contentsOf: repeatElement(UInt8(character.value), count: max(count, 0)))
        }
    }

    /// Tabs become one space so the caret lines up (columns count a tab as
    /// 1). A tab is always a character of its own, so bytes can be swapped.
    private static func visible(_ line: String) -> String {
        let tab = UInt8(ascii: "\t")
        var line = line
        guard line.withUTF8({ $0.contains(tab) }) else { return Printable.escaped(line) }
        return Printable.escaped(String(decoding: line.utf8.map { $0 == tab ? UInt8(ascii: " ") : $0 }, as: UTF8.self))
    }
}
