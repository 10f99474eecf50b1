import Diagnostics

/// What the xl.cfg front end needs besides the text.
public struct XLOptions: Sendable {
    /// `--xen-version`: which xl to reproduce (keys, disk syntax and values differ, §9).
    public var xenVersion: XenVersion
    /// `--domains FILE`: resolves backends given by domain name. Without it a
    /// non-numeric backend is an error, because only a running system knows names.
    public var domains: DomainTable?

    public init(xenVersion: XenVersion = .default, domains: DomainTable? = nil) {
        self.xenVersion = xenVersion
        self.domains = domains
    }
}

/// The front end's answer: the guest as xl reads it, and every finding.
public struct XLReadResult: Sendable {
    /// Nil only when the file is unusable: xl refuses a file with any
    /// lexical or grammar error outright, so no guest is built from it.
    /// Otherwise present even with errors; entries xl or libxl would refuse
    /// (a bad disk or virtio spec, an unknown backend name) are left out,
    /// their errors already reported, so later stages never report them twice.
    public var guest: GuestConfig?
    /// Sorted by position (file-level findings first), without duplicates.
    public var diagnostics: [Diagnostic]

    public init(guest: GuestConfig?, diagnostics: [Diagnostic]) {
        self.guest = guest
        self.diagnostics = diagnostics
    }
}

/// The xl.cfg front end: does what `xl create` does before libxl starts
/// building (libxlu's config lexer and grammar, `xl_parse.c`, the disk spec
/// lexer) and reports what xl refuses or silently changes.
///
/// File reading is the caller's job; paths inside the config stay as written.
public enum XLConfigReader {
    public static func read(file: String, text: [UInt8], options: XLOptions) -> XLReadResult {
        let source = SourceText(file: file, bytes: text)
        var parser = ConfigParser(source: source)
        let syntax = parser.parseFile()
        var reader = GuestReader(source: source, syntax: syntax, options: options)
        let guest = reader.read()
        var diagnostics = syntax.diagnostics + reader.diagnostics
        diagnostics = DiagnosticOrder.finalized(diagnostics)
        return XLReadResult(guest: syntax.isUsable ? guest : nil, diagnostics: diagnostics)
    }
}

/// Findings in reading order, each problem once, safe to print.
enum DiagnosticOrder {
    /// What makes two findings the same report (the source line is left out:
    /// hashing a long line for every finding on it would cost far too much).
    private struct Identity: Hashable {
        let rule: String
        let line: Int?
        let column: Int?
        let span: Int
        let message: String
    }

    static func finalized(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        var seen = Set<Identity>()
        let unique = diagnostics.filter {
            seen.insert(Identity(rule: $0.rule, line: $0.line, column: $0.column, span: $0.span, message: $0.message)).inserted
        }
        return unique.enumerated().sorted { lhs, rhs in
            let left = (lhs.element.line ?? 0, lhs.element.column ?? 0, lhs.offset)
            let right = (rhs.element.line ?? 0, rhs.element.column ?? 0, rhs.offset)
            return left < right
        }.map { printable($0.element) }
    }

    /// Config text is untrusted: control characters quoted from it must not
    /// reach a terminal. Messages and hints show them as escapes (source
    /// lines are made printable once, by `SourceText`).
    private static func printable(_ diagnostic: Diagnostic) -> Diagnostic {
        var copy = diagnostic
        copy.message = Printable.escaped(diagnostic.message)
        copy.hint = diagnostic.hint.map(Printable.escaped)
        return copy
    }
}
