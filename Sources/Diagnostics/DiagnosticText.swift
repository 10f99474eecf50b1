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
        var head = ""
        if let file = diagnostic.file {
            head += Printable.escaped(file)
            if let line = diagnostic.line {
                head += ":\(line)"
                if let column = diagnostic.column { head += ":\(column)" }
            }
            head += ": "
        }
        head += "\(diagnostic.severity.rawValue)[\(diagnostic.rule)]: "
        if diagnostic.line == nil, let node = diagnostic.node { head += "\(Printable.escaped(node)): " }
        var text = head + Printable.escaped(diagnostic.message) + "\n"
        if let source = diagnostic.sourceLine, let line = diagnostic.line {
            let number = String(line)
            let gutter = String(repeating: " ", count: number.count)
            text += " \(number) | \(visible(source))\n"
            if let column = diagnostic.column {
                let pad = String(repeating: " ", count: max(column - 1, 0))
                text += " \(gutter) | \(pad)^\(String(repeating: "~", count: diagnostic.span - 1))\n"
            }
        }
        if let hint = diagnostic.hint { text += "hint: \(Printable.escaped(hint))\n" }
        return text
    }

    /// Tabs become one space so the caret lines up (columns count a tab as
    /// 1). A tab is always a character of its own, so bytes can be swapped.
    private static func visible(_ line: String) -> String {
        let tab = UInt8(ascii: "\t")
        guard line.utf8.contains(tab) else { return Printable.escaped(line) }
        return Printable.escaped(String(decoding: line.utf8.map { $0 == tab ? UInt8(ascii: " ") : $0 }, as: UTF8.self))
    }
}
