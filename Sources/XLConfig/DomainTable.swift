import Diagnostics

/// The running domains a config's backend names resolve against
/// (`--domains FILE`), standing in for libxl's lookup among running domains.
///
/// The file has one `NAME DOMID` per line: names `[A-Za-z0-9_.-]+`, decimal
/// domids 0…32751 (0x7FEF), `#` starts a comment. `Domain-0` is domid 0
/// without being listed.
public struct DomainTable: Sendable, Hashable {
    public static let dom0Name = "Domain-0"

    private var domids: [String: UInt32] = [DomainTable.dom0Name: 0]
    /// The file the table was read from, for messages.
    public private(set) var file: String?

    /// An empty table: only `Domain-0` resolves.
    public init() {}

    /// The domid of a domain name, compared exactly (libxl uses strcmp).
    public func domid(named name: String) -> UInt32? { domids[name] }

    /// Every name the table resolves, for "did you mean" hints.
    var names: [String] { domids.keys.sorted() }

    /// Reads a domains file. Bad lines are reported and skipped; the table
    /// holds every good line.
    public static func parse(file: String, text: [UInt8]) -> (table: DomainTable, diagnostics: [Diagnostic]) {
        let source = SourceText(file: file, bytes: text)
        var table = DomainTable()
        table.file = file
        var diagnostics: [Diagnostic] = []
        var seenAt: [String: Int] = [:]
        var domidSeenAt: [UInt32: (name: String, line: Int)] = [:]
        var lineStart = 0
        for line in 1...source.lineCount {
            let lineEnd = text[lineStart...].firstIndex(of: Ascii.newline) ?? text.count
            defer { lineStart = lineEnd + 1 }
            let fields = Self.fields(text, lineStart..<lineEnd)
            guard !fields.isEmpty else { continue }
            guard let entry = entry(fields, text: text, source: source, diagnostics: &diagnostics) else { continue }
            let nameLocation = source.location(fields[0])
            if let earlier = seenAt[entry.name] {
                diagnostics.append(XLRules.domainsEntry.at(nameLocation, "`\(entry.name)` is listed again (first on line \(earlier))",
                                                           hint: "list each domain once"))
                continue
            }
            if let earlier = domidSeenAt[entry.domid] {
                diagnostics.append(XLRules.domainsEntry.at(
                    source.location(fields[1]), "domid \(entry.domid) is already `\(earlier.name)` (line \(earlier.line))",
                    hint: "two running domains never share a domid"))
                continue
            }
            if entry.name == dom0Name, entry.domid != 0 {
                diagnostics.append(XLRules.domainsEntry.at(source.location(fields[1]), "Domain-0 always has domid 0",
                                                           hint: "remove this line; Domain-0 is 0 without being listed"))
                continue
            }
            seenAt[entry.name] = line
            domidSeenAt[entry.domid] = (entry.name, line)
            table.domids[entry.name] = entry.domid
        }
        return (table, DiagnosticOrder.finalized(diagnostics))
    }

    /// Blank-separated fields of a line, up to a `#` comment.
    private static func fields(_ text: [UInt8], _ line: Range<Int>) -> [Range<Int>] {
        var fields: [Range<Int>] = []
        var cursor = line.lowerBound
        while cursor < line.upperBound, text[cursor] != Ascii.hash {
            if Ascii.isSpace(text[cursor]) { cursor += 1; continue }
            let start = cursor
            while cursor < line.upperBound, !Ascii.isSpace(text[cursor]), text[cursor] != Ascii.hash { cursor += 1 }
            fields.append(start..<cursor)
        }
        return fields
    }

    private static func entry(_ fields: [Range<Int>], text: [UInt8], source: SourceText,
                              diagnostics: inout [Diagnostic]) -> (name: String, domid: UInt32)? {
        let name = fields[0]
        if let bad = text[name].firstIndex(where: { !isNameByte($0) }) {
            diagnostics.append(XLRules.domainsSyntax.at(
                source.location(offset: bad), "domain names use only letters, digits, `_`, `.` and `-`",
                hint: "write NAME DOMID, for example `storage-be 2`"))
            return nil
        }
        guard fields.count >= 2 else {
            diagnostics.append(XLRules.domainsSyntax.at(
                source.location(offset: name.upperBound), "`\(string(text, name))` has no domid", hint: "write NAME DOMID"))
            return nil
        }
        guard fields.count == 2 else {
            diagnostics.append(XLRules.domainsSyntax.at(
                source.location(fields[2]), "unexpected text after the domid", hint: "write NAME DOMID; `#` starts a comment"))
            return nil
        }
        return domid(fields[1], of: string(text, name), text: text, source: source, diagnostics: &diagnostics)
    }

    private static func domid(_ field: Range<Int>, of name: String, text: [UInt8], source: SourceText,
                              diagnostics: inout [Diagnostic]) -> (name: String, domid: UInt32)? {
        let digits = text[field]
        guard digits.allSatisfy(Ascii.isDigit) else {
            diagnostics.append(XLRules.domainsSyntax.at(
                source.location(field), "`\(string(text, field))` is not a decimal domid", hint: "write the domid in decimal"))
            return nil
        }
        guard digits.count <= 5, let value = UInt32(string(text, field)), value <= DomainID.lastValid else {
            diagnostics.append(XLRules.domainsEntry.at(
                source.location(field), "domid \(string(text, field)) is reserved; domains have domids 0 to \(DomainID.lastValid)",
                hint: "use the domid `xl list` shows"))
            return nil
        }
        return (name, value)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        Ascii.isAlnum(byte) || byte == Ascii.underscore || byte == Ascii.dot || byte == Ascii.minus
    }

    private static func string(_ text: [UInt8], _ range: Range<Int>) -> String { String(decoding: text[range], as: UTF8.self) }
}

/// Domain id limits (`xen/include/public/xen.h`).
enum DomainID {
    /// `DOMID_FIRST_RESERVED` − 1.
    static let lastValid: UInt32 = 0x7FEF
}
