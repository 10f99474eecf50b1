/// How bad a finding is. Errors fail the run (exit 1); warnings fail it
/// only under `--werror`; notes never do.
public enum Severity: String, Sendable, Hashable, Comparable, CaseIterable {
    case note, warning, error

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One finding about an input: a config file position or a tree node,
/// with a stable rule id and a hint that says how to fix it.
public struct Diagnostic: Hashable, Sendable {
    public var severity: Severity
    /// Stable rule id, listed in the README (`XL001`, `DT-IOMMUS-DANGLING`, ...).
    public var rule: String
    public var message: String
    public var file: String?
    /// 1-based line, or nil when the finding is not about a text position.
    public var line: Int?
    /// 1-based column counting bytes of the line (a tab is 1).
    public var column: Int?
    /// Node path for findings about a device tree.
    public var node: String?
    public var hint: String?
    /// The text of `line`, shown under the message with a caret.
    public var sourceLine: String?
    /// How many columns the caret underlines (at least 1).
    public var span: Int

    public init(
        _ severity: Severity, rule: String, message: String,
        file: String? = nil, line: Int? = nil, column: Int? = nil, node: String? = nil,
        hint: String? = nil, sourceLine: String? = nil, span: Int = 1
    ) {
        self.severity = severity
        self.rule = rule
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.node = node
        self.hint = hint
        self.sourceLine = sourceLine
        self.span = max(span, 1)
    }
}

extension Diagnostic {
    /// The exit code for a set of findings: 1 if any error, else 0.
    /// With `werror`, warnings count as errors; notes never do.
    public static func exitCode(for diagnostics: [Diagnostic], werror: Bool = false) -> Int32 {
        diagnostics.contains { $0.severity == .error || (werror && $0.severity == .warning) } ? 1 : 0
    }

    /// This diagnostic with a warning raised to an error (`--werror`).
    public func promotingWarning(_ werror: Bool) -> Diagnostic {
        guard werror, severity == .warning else { return self }
        var copy = self
        copy.severity = .error
        return copy
    }
}
