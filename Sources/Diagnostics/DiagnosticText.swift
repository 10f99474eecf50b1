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
        var text = MessageText()
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

    /// Tabs become one space so the caret lines up (columns count a tab as
    /// 1). A tab is always a character of its own, so bytes can be swapped.
    private static func visible(_ line: String) -> String {
        let tab = UInt8(ascii: "\t")
        var line = line
        guard line.withUTF8({ $0.contains(tab) }) else { return Printable.escaped(line) }
        return Printable.escaped(String(decoding: line.utf8.map { $0 == tab ? UInt8(ascii: " ") : $0 }, as: UTF8.self))
    }
}
