import Diagnostics
import SystemIO
import XLConfig

/// Reads a layout template (format: templates/README.md). Every problem
/// is a diagnostic at its line and column in the template file; a
/// template with any error gives no `Template`.
public enum TemplateParser {
    public static func parse(_ text: String, file: String) -> (template: Template?, diagnostics: [Diagnostic]) {
        let reader = TemplateReader(file: file)
        let sections = reader.sections(of: text)
        // Past a malformed line, missing or misplaced keys are only echoes.
        guard !reader.hasErrors else { return (nil, reader.diagnostics) }
        let template = reader.template(from: sections)
        let checked = template.flatMap { reader.checked($0, sections: sections) }
        return (reader.hasErrors ? nil : checked, reader.diagnostics)
    }
}

/// One word of a line, with where it starts.
struct TemplateToken {
    let text: String
    let location: SourceLocation
}

/// `key = value value ...`
struct TemplateEntry {
    let key: TemplateToken
    let values: [TemplateToken]
}

/// `[name]` or `[xen X.Y]` with its entries; the unnamed top section
/// holds the entries before the first header.
struct TemplateSection {
    let name: String
    let header: TemplateToken?
    var entries: [TemplateEntry] = []
}

/// Parser state: the diagnostics so far, and the helpers that turn
/// entries into typed values.
final class TemplateReader {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    init(file: String) { self.file = file }

    func report(_ rule: Rule, _ location: SourceLocation, _ message: String, hint: String? = nil) {
        record(rule.at(location, message, hint: hint))
    }

    func record(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    // MARK: Lines

    func sections(of text: String) -> [TemplateSection] {
        var sections = [TemplateSection(name: "", header: nil)]
        // "\r\n" is one Character in Swift: split on both forms.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, rawLine) in lines.enumerated() {
            let line = String(rawLine)
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let tokens = Self.words(of: content, line: line, lineNumber: index + 1, file: file)
            guard let first = tokens.first else { continue }
            if first.text.hasPrefix("[") {
                if let section = header(tokens, line: line) { sections.append(section) }
            } else if let entry = entry(tokens) {
                sections[sections.count - 1].entries.append(entry)
            }
        }
        return sections
    }

    /// Whitespace-separated words; `[`, `]` and `=` are words of their own.
    private static func words(of content: Substring, line: String, lineNumber: Int, file: String) -> [TemplateToken] {
        var tokens: [TemplateToken] = []
        var current = ""
        var start = 0
        func flush() {
            guard !current.isEmpty else { return }
            let location = SourceLocation(file: file, line: lineNumber, column: start + 1, span: current.utf8.count, sourceLine: line)
            tokens.append(TemplateToken(text: current, location: location))
            current = ""
        }
        for (offset, byte) in content.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                flush()
            case UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "="):
                flush()
                start = offset
                current = String(UnicodeScalar(byte))
                flush()
            default:
                if current.isEmpty { start = offset }
                current.unicodeScalars.append(UnicodeScalar(byte))
            }
        }
        flush()
        return tokens
    }

    private func header(_ tokens: [TemplateToken], line: String) -> TemplateSection? {
        let words = tokens.map(\.text)
        guard words.count >= 3, words.last == "]", words.count <= 4 else {
            report(LayoutRules.templateSyntax, tokens[0].location, "a section header is `[name]` or `[xen X.Y]`")
            return nil
        }
        let name = words[1..<(words.count - 1)].joined(separator: " ")
        return TemplateSection(name: name, header: tokens[1])
    }

    private func entry(_ tokens: [TemplateToken]) -> TemplateEntry? {
        guard tokens.count >= 3, tokens[1].text == "=" else {
            report(LayoutRules.templateSyntax, tokens[0].location, "expected `key = value`")
            return nil
        }
        if let stray = tokens.dropFirst(2).first(where: { ["=", "[", "]"].contains($0.text) }) {
            report(LayoutRules.templateSyntax, stray.location, "unexpected '\(stray.text)' in a value")
            return nil
        }
        return TemplateEntry(key: tokens[0], values: Array(tokens.dropFirst(2)))
    }
}

// MARK: - Typed values

extension TemplateReader {
    /// The entries of one section, consumed key by key; whatever is left
    /// at the end is an unknown key.
    final class Fields {
        let reader: TemplateReader
        let section: TemplateSection
        /// False for a section that is missing altogether (reported once).
        let reportsMissingKeys: Bool
        private var used = Set<String>()

        init(_ section: TemplateSection, reader: TemplateReader, reportsMissingKeys: Bool = true) {
            self.section = section
            self.reader = reader
            self.reportsMissingKeys = reportsMissingKeys
        }

        /// How messages name the section.
        var title: String { section.name.isEmpty ? "the top of the file" : "[\(section.name)]" }

        /// Every entry for `key` (for repeated keys such as `ram-bank`).
        func all(_ key: String) -> [TemplateEntry] {
            used.insert(key)
            return section.entries.filter { $0.key.text == key }
        }

        /// The single entry for `key`; nil (and reported) when missing,
        /// unless `required` is false.
        func one(_ key: String, required: Bool = true) -> TemplateEntry? {
            let entries = all(key)
            for repeated in entries.dropFirst() {
                reader.report(LayoutRules.templateKey, repeated.key.location, "'\(key)' is set twice in \(title)")
            }
            if entries.isEmpty && required && reportsMissingKeys {
                reader.missing("'\(key)' in \(title)", at: section.header)
            }
            return entries.first
        }

        /// `count` numbers, each within `limit`.
        func numbers(_ key: String, count: Int, limit: UInt64 = .max, required: Bool = true) -> [UInt64]? {
            guard let entry = one(key, required: required) else { return nil }
            return reader.numbers(entry, count: count, limit: limit)
        }

        func number(_ key: String, limit: UInt64 = .max, required: Bool = true) -> UInt64? {
            numbers(key, count: 1, limit: limit, required: required)?.first
        }

        func range(_ key: String) -> AddressRange? {
            one(key).flatMap(reader.range)
        }

        func word(_ key: String, required: Bool = true) -> TemplateToken? {
            guard let entry = one(key, required: required) else { return nil }
            guard entry.values.count == 1 else {
                reader.report(LayoutRules.templateValue, entry.values[1].location, "'\(key)' takes one word")
                return nil
            }
            return entry.values[0]
        }

        /// One of the raw values of a case-iterable enum.
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, required: Bool = true) -> T? where T.RawValue == String {
            guard let token = word(key, required: required) else { return nil }
            if let value = T(rawValue: token.text) { return value }
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            reader.report(LayoutRules.templateValue, token.location, "'\(token.text)' is not one of: \(allowed)")
            return nil
        }

        func flag(_ key: String, required: Bool = true) -> Bool? {
            guard let token = word(key, required: required) else { return nil }
            switch token.text {
            case "yes": return true
            case "no": return false
            default:
                reader.report(LayoutRules.templateValue, token.location, "'\(key)' is `yes` or `no`")
                return nil
            }
        }

        /// Reports the keys nobody asked for.
        func finish() {
            for entry in section.entries where !used.contains(entry.key.text) {
                reader.report(LayoutRules.templateKey, entry.key.location, "unknown key '\(entry.key.text)' in \(title)")
            }
        }
    }

    func missing(_ what: String, at header: TemplateToken?) {
        if let header {
            report(LayoutRules.templateMissing, header.location, "missing \(what)")
        } else {
            record(LayoutRules.templateMissing.about(file: file, "missing \(what)"))
        }
    }

    func numbers(_ entry: TemplateEntry, count: Int, limit: UInt64) -> [UInt64]? {
        guard entry.values.count == count else {
            let place = entry.values.count > count ? entry.values[count].location : entry.key.location
            report(LayoutRules.templateValue, place, "'\(entry.key.text)' takes \(count) number\(count == 1 ? "" : "s"), not \(entry.values.count)")
            return nil
        }
        var result: [UInt64] = []
        for token in entry.values {
            guard let value = Self.number(token.text) else {
                report(LayoutRules.templateValue, token.location, "'\(token.text)' is not a number (decimal, or hexadecimal with 0x)")
                return nil
            }
            guard value <= limit else {
                report(LayoutRules.templateValue, token.location, "\(token.text) is larger than \(limit)")
                return nil
            }
            result.append(value)
        }
        return result
    }

    /// `base size` with a non-zero size and no wrap past 2^64.
    func range(_ entry: TemplateEntry) -> AddressRange? {
        guard let pair = numbers(entry, count: 2, limit: .max) else { return nil }
        let range = AddressRange(base: pair[0], size: pair[1])
        guard range.size > 0, range.end <= UInt128(UInt64.max) + 1 else {
            report(LayoutRules.templateValue, entry.values[1].location, "the range must be non-empty and end within 64 bits")
            return nil
        }
        return range
    }

    /// Decimal, or hexadecimal after `0x`; no sign, no separators.
    static func number(_ text: String) -> UInt64? {
        let (digits, radix) = text.hasPrefix("0x") ? (text.dropFirst(2), 16) : (text[...], 10)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isHexDigit && $0.isASCII }) else { return nil }
        return UInt64(digits, radix: radix)
    }
}

extension Template {
    /// Reads and parses a template file (`--template FILE`). An unreadable
    /// file throws; a malformed one gives diagnostics and no template.
    public static func read(from path: String) throws(IOError) -> (template: Template?, diagnostics: [Diagnostic]) {
        let bytes = try FileSystem.readFile(path, limit: 1 << 20)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return (nil, [LayoutRules.templateSyntax.about(file: path, "the template is not UTF-8 text")])
        }
        return TemplateParser.parse(text, file: path)
    }
}
