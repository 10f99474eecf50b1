/// A check with a stable id and one fixed severity. Modules keep their
/// rules as catalogs (`static let all: [Rule]`) so that the README table
/// and the tests can list every rule, and diagnostics can only be made
/// through a rule, with its severity.
public struct Rule: Hashable, Sendable {
    /// Stable id users script against (`XL-SYNTAX`, `GUEST-SPI-EXHAUSTED`, `DT-IOMMUS-DANGLING`).
    public let id: String
    public let severity: Severity
    /// What the rule catches, for the README table.
    public let summary: String
    /// How to fix it in general; a diagnostic may give a more specific hint.
    public let fix: String

    public init(_ id: String, _ severity: Severity, summary: String, fix: String) {
        self.id = id
        self.severity = severity
        self.summary = summary
        self.fix = fix
    }

    /// A finding at a place in a text file.
    public func at(_ location: SourceLocation, _ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(
            severity, rule: id, message: message, file: location.file, line: location.line,
            column: location.column, hint: hint ?? fix, sourceLine: location.sourceLine, span: location.span)
    }

    /// A finding about a device-tree node (no line and column).
    public func at(file: String?, node: String, _ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(severity, rule: id, message: message, file: file, node: node, hint: hint ?? fix)
    }

    /// A finding about a whole file, or about the invocation (file may be nil).
    public func about(file: String?, _ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(severity, rule: id, message: message, file: file, hint: hint ?? fix)
    }
}

/// A place in a text file: 1-based line and column (columns count bytes of
/// the line; a tab is 1), with the line's text for the caret display.
public struct SourceLocation: Hashable, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    /// Columns the caret underlines (at least 1).
    public var span: Int
    public var sourceLine: String?

    public init(file: String, line: Int, column: Int, span: Int = 1, sourceLine: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.span = span
        self.sourceLine = sourceLine
    }

    /// The location `offset` bytes further along the same line (for
    /// positions inside a string value, such as a `disk=` spec).
    public func advanced(by offset: Int, span: Int = 1) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + offset, span: span, sourceLine: sourceLine)
    }
}

/// A value together with where it was written.
public struct Located<Value> {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension Located: Sendable where Value: Sendable {}
extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}
