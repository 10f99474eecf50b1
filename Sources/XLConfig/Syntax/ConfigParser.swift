import Diagnostics

/// The outcome of parsing a file.
struct ConfigSyntax: Sendable {
    /// Settings in file order, `+=` already applied.
    var settings: [Setting]
    private(set) var diagnostics: [Diagnostic]
    /// False when xl would refuse the whole file (any lexical or grammar error).
    var isUsable: Bool
    /// Keys whose setting was dropped because of a syntax error, so that
    /// later checks do not report the consequence (a "missing" name) again.
    var brokenKeys: Set<String>
}

/// xl's config grammar (`libxlu_cfg_y.y`) by recursive descent:
///
///     file       := (setting? (NEWLINE | ';'))* setting?
///     setting    := KEY ('=' | '+=') value
///     value      := STRING | NUMBER | '[' NEWLINE* items? ']'
///     items      := value NEWLINE* (',' NEWLINE* value NEWLINE*)* (',' NEWLINE*)?
///
/// Errors recover like xl's `error NEWLINE` rule, skipping to the end of
/// the statement, but across a whole unclosed list, so each broken
/// statement is reported once.
struct ConfigParser {
    let source: SourceText
    private(set) var tokens: [Token] = []
    private(set) var index = 0
    private var settings: [Setting] = []
    var diagnostics: [Diagnostic] = []
    private(set) var usable = true
    private var brokenKeys = Set<String>()
    /// Index in `settings` of each key's last setting.
    private var lastIndex: [String: Int] = [:]
    /// How many lists are open at the current token.
    private(set) var depth = 0
    /// How many lists were open where the last error was reported.
    private(set) var recoveryDepth = 0

    init(source: SourceText) { self.source = source }

    mutating func parseFile() -> ConfigSyntax {
        var lexer = ConfigLexer(source: source)
        tokens = lexer.tokenize()
        diagnostics = lexer.diagnostics
        // Every setting has an operator token: room for all, so neither table regrows.
        let operators = tokens.count { $0.kind == .assign || $0.kind == .append }
        settings.reserveCapacity(operators)
        lastIndex.reserveCapacity(operators)
        usable = !diagnostics.contains { $0.severity == .error }
        while true {
            switch peek.kind {
            case .newline, .semicolon: index += 1
            case .end: return ConfigSyntax(settings: settings, diagnostics: diagnostics, isUsable: usable, brokenKeys: brokenKeys)
            case .word: parseSetting()
            default:
                reportAtStatementStart(peek)
                recover()
            }
        }
    }

    // MARK: Grammar

    var peek: Token { tokens[index] }

    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private mutating func parseSetting() {
        let keyToken = advance()
        let key = text(keyToken)
        let operation: Setting.Operation
        switch peek.kind {
        case .assign: operation = .assign
        case .append: operation = .append
        default:
            reportMissingOperator(key: keyToken, found: peek)
            brokenKeys.insert(key)
            recover()
            return
        }
        let operatorToken = advance()
        guard let value = parseValue(key: key) else {
            brokenKeys.insert(key)
            recover()
            return
        }
        switch peek.kind {
        case .newline, .semicolon: index += 1
        case .end: break
        case .invalid(let problem):
            reportInvalid(peek, problem, context: .afterValue(key))
            brokenKeys.insert(key)
            recover()
            return
        default:
            fail(XLRules.syntax, peek, "expected the end of the `\(key)` setting, found \(describe(peek))",
                 hint: "put each setting on its own line or end it with `;`; join strings with +=")
            brokenKeys.insert(key)
            recover()
            return
        }
        store(Setting(key: key, keyRange: keyToken.range, operation: operation, operatorRange: operatorToken.range, value: value))
    }

    private mutating func parseValue(key: String) -> ConfigValue? {
        let token = peek
        switch token.kind {
        case .string, .number:
            index += 1
            return .atom(Atom(text: ConfigLexer.value(of: token, in: source.bytes), range: token.range))
        case .openBracket:
            return parseList(key: key)
        case .word:
            reportUnquoted(token, key: key)
            return nil
        case .invalid(let problem):
            reportInvalid(token, problem, context: .value(key))
            return nil
        case .newline, .semicolon, .end:
            fail(XLRules.syntax, token, "`\(key)` has no value", hint: "write a value after `=`, for example \(key) = \"...\"")
            return nil
        default:
            fail(XLRules.syntax, token, "expected a value for `\(key)`, found \(describe(token))",
                 hint: "a value is a quoted string, a number or a [ list ]")
            return nil
        }
    }

    /// Deeper lists are refused rather than risking the stack (xl's bison
    /// parser runs out of stack after a few thousand; no device list nests at all).
    static let maximumDepth = 256

    private mutating func parseList(key: String) -> ConfigValue? {
        guard depth < Self.maximumDepth else {
            fail(XLRules.syntax, peek, "lists nested more than \(Self.maximumDepth) deep in `\(key)`", hint: "xl's device lists hold strings, not lists")
            return nil
        }
        let open = advance()
        depth += 1
        defer { depth -= 1 }
        var items: [ConfigValue] = []
        skipNewlines()
        while true {
            // Here the list is empty or the last item ended with a comma.
            if peek.kind == .closeBracket {
                let close = advance()
                return .list(ListValue(items: items, range: open.range.lowerBound..<close.range.upperBound))
            }
            if peek.kind == .comma {
                fail(XLRules.syntax, peek, "empty item in the `\(key)` list", hint: "remove the extra comma")
                return nil
            }
            if reportUnclosed(open, key: key) { return nil }
            guard let item = parseValue(key: key) else { return nil }
            items.append(item)
            skipNewlines()
            switch peek.kind {
            case .comma:
                index += 1
                skipNewlines()
            case .closeBracket:
                let close = advance()
                return .list(ListValue(items: items, range: open.range.lowerBound..<close.range.upperBound))
            case .string, .number, .openBracket:
                if !reportUnclosed(open, key: key) {
                    fail(XLRules.syntax, peek, "missing `,` between items of the `\(key)` list", hint: "separate list items with commas")
                }
                return nil
            case .word:
                if !reportUnclosed(open, key: key) { reportUnquoted(peek, key: key) }
                return nil
            case .invalid(let problem):
                reportInvalid(peek, problem, context: .afterValue(key))
                return nil
            default:
                if !reportUnclosed(open, key: key) {
                    fail(XLRules.syntax, peek, "expected `,` or `]` in the `\(key)` list, found \(describe(peek))",
                         hint: "separate list items with commas and close the list with `]`")
                }
                return nil
            }
        }
    }

    /// A list still open at the end of the file, or when the next line
    /// starts a new setting, is reported at its `[`.
    private mutating func reportUnclosed(_ open: Token, key: String) -> Bool {
        guard peek.kind == .end || startsNewSetting(at: index) else { return false }
        fail(XLRules.syntax, open, "the `\(key)` list is not closed", hint: "add `]` after the last item")
        return true
    }

    private mutating func skipNewlines() {
        while peek.kind == .newline { index += 1 }
    }

    /// `KEY =` or `KEY +=` at the start of a line.
    private func startsNewSetting(at position: Int) -> Bool {
        let token = tokens[position]
        guard token.kind == .word, position > 0, tokens[position - 1].kind == .newline else { return false }
        let next = tokens[min(position + 1, tokens.count - 1)].kind
        return next == .assign || next == .append
    }

    /// Skips the rest of a broken statement: to a newline or `;` outside
    /// any list, or to the next line that starts a new setting.
    private mutating func recover() {
        var open = recoveryDepth
        recoveryDepth = 0
        while true {
            switch peek.kind {
            case .end: return
            case .newline where open == 0, .semicolon where open == 0:
                index += 1
                return
            case .openBracket: open += 1
            case .closeBracket: open = max(open - 1, 0)
            case .word where startsNewSetting(at: index): return
            default: break
            }
            index += 1
        }
    }

    // MARK: Storing (xlu__cfg_set_store)

    private mutating func store(_ setting: consuming Setting) {
        // One lookup finds the key's previous setting and records this one.
        setting.earlier = lastIndex.updateValue(settings.count, forKey: setting.key)
        if setting.operation == .append, let previousIndex = setting.earlier {
            let previousKey = settings[previousIndex].keyRange
            guard settings[previousIndex].value.isList == setting.value.isList else {
                let kinds = setting.value.isList ? ("a list", "a string") : ("a string", "a list")
                report(XLRules.addMismatch.at(
                    source.location(setting.operatorRange),
                    "cannot add \(kinds.0) to `\(setting.key)`, which is \(kinds.1) (line \(source.location(offset: previousKey.lowerBound).line))",
                    hint: "append a string to a string and a list to a list"))
                brokenKeys.insert(setting.key)
                // Not stored: the previous setting stays the key's last.
                lastIndex[setting.key] = previousIndex
                return
            }
            // Move the earlier value out, so that appending to it does not copy it.
            var joined = ConfigValue.taken(at: settings[previousIndex].value.range)
            swap(&joined, &settings[previousIndex].value)
            joined.append(setting.value)
            setting.value = joined
        }
        settings.append(setting)
    }

    /// Records a grammar-level error: xl refuses the whole file.
    mutating func report(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
        usable = false
        recoveryDepth = depth
    }
}
