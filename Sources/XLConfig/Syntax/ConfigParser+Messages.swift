import Diagnostics

/// Syntax findings: each says what xl refuses and what was most likely meant.
extension ConfigParser {
    func text(_ token: Token) -> String { String(decoding: source.bytes[token.range], as: UTF8.self) }

    mutating func fail(_ rule: Rule, _ token: Token, _ message: String, hint: String) {
        let length = token.kind == .newline || token.kind == .end ? 1 : token.range.count
        report(rule.at(source.location(offset: token.range.lowerBound, length: length), message, hint: hint))
    }

    func describe(_ token: Token) -> String {
        switch token.kind {
        case .newline: "the end of the line"
        case .end: "the end of the file"
        case .string: "the string \(text(token))"
        case .number: "the number \(text(token))"
        case .word: "the word `\(text(token))`"
        default: "`\(text(token))`"
        }
    }

    /// Something other than a key where a setting should start.
    mutating func reportAtStatementStart(_ token: Token) {
        switch token.kind {
        case .invalid(let problem):
            reportInvalid(token, problem, context: .statementStart)
        case .assign, .append:
            fail(XLRules.syntax, token, "a setting needs a key before `\(text(token))`", hint: "write KEY = VALUE")
        default:
            fail(XLRules.syntax, token, "expected a key at the start of a setting, found \(describe(token))",
                 hint: "a setting is KEY = VALUE with a lowercase key; lists that span lines need their `[` on the key's line")
        }
    }

    mutating func reportMissingOperator(key: Token, found: Token) {
        let name = text(key)
        if case .invalid(.badCharacter(let byte)) = found.kind, found.range.lowerBound == key.range.upperBound {
            // Attached to the key: `my-key`, `memoryMB`; other characters are not meant as part of a key.
            let whole = key.range.lowerBound..<found.range.upperBound
            let written = String(decoding: source.bytes[whole], as: UTF8.self)
            if Ascii.isUpper(byte) || byte == Ascii.minus {
                report(XLRules.lexical.at(
                    source.location(whole), "`\(written)` is not a valid key: keys use only lowercase letters, digits, `_` and `.`",
                    hint: suggestionHint(for: written)))
                return
            }
        }
        switch found.kind {
        case .string, .number, .openBracket, .word:
            fail(XLRules.syntax, found, "missing `=` between `\(name)` and its value", hint: "write \(name) = VALUE")
        default:
            if case .invalid(let problem) = found.kind {
                reportInvalid(found, problem, context: .afterKey(name))
            } else {
                fail(XLRules.syntax, found, "expected `=` after `\(name)`, found \(describe(found))", hint: "write \(name) = VALUE")
            }
        }
    }

    mutating func reportUnquoted(_ token: Token, key: String) {
        let word = text(token)
        let hint: String
        switch word {
        case "true", "yes", "on", "y": hint = "xl has no boolean words: write \(key) = 1"
        case "false", "no", "off", "n": hint = "xl has no boolean words: write \(key) = 0"
        default: hint = "strings need quotes: write \(key) = \"\(word)\""
        }
        fail(XLRules.unquoted, token, "unquoted word `\(word)` as the value of `\(key)`", hint: hint)
    }

    /// Where rejected bytes were found: decides what the user most likely meant.
    enum Context {
        case statementStart
        case afterKey(String)
        case value(String)
        case afterValue(String)
    }

    mutating func reportInvalid(_ token: Token, _ problem: LexProblem, context: Context) {
        switch problem {
        case .unterminatedString:
            fail(XLRules.lexical, token, "string is not closed on this line", hint: "add the closing quote; a string cannot span lines")
        case .nulInString:
            fail(XLRules.lexical, token, "NUL byte inside a string (xl would cut the string there)", hint: "remove the NUL byte")
        case .badCharacter(let byte):
            let (message, hint) = explainBadCharacter(token, byte, context: context)
            fail(XLRules.lexical, token, message, hint: hint)
        }
    }

    private func explainBadCharacter(_ token: Token, _ byte: UInt8, context: Context) -> (String, String) {
        let written = text(token)
        if token.range.lowerBound == 0, source.bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            return ("the file starts with a UTF-8 byte-order mark, which xl refuses", "save the file as UTF-8 without a BOM")
        }
        let previous = tokens[max(index - 1, 0)]
        if previous.kind == .number, previous.range.upperBound == token.range.lowerBound, index > 0 {
            let number = text(previous) + written
            if number.hasPrefix("0x"), number.dropFirst(2).allSatisfy(\.isHexDigit) {
                return ("`\(number)`: xl reads only lowercase hex digits in unquoted numbers", "write \(number.lowercased()), or quote it")
            }
            if byte == Ascii.dot {
                return ("`\(number)` is not a whole number; xl numbers are integers", "write a whole number")
            }
            return ("`\(number)` is not a number xl can read", "write only the digits (no units or suffixes), or quote the value if it is a string")
        }
        if byte == Ascii.minus, token.range.count > 1, Ascii.isDigit(source.bytes[token.range.lowerBound + 1]) {
            return ("`\(written)`: xl numbers have no sign", "write a number without `-`")
        }
        switch context {
        case .value(let key):
            return ("unquoted text `\(written)` as the value of `\(key)`", "strings need quotes: write \(key) = \"\(written)\"")
        case .afterValue(let key):
            return ("unexpected `\(written)` after the value of `\(key)`", "quote the whole value, or put the next setting on its own line")
        case .statementStart where Ascii.isUpper(byte):
            return ("`\(written)` is not a valid key: keys start with a lowercase letter", suggestionHint(for: written))
        case .statementStart:
            return ("unexpected `\(written)` at the start of a setting", keyValueHint(byte))
        case .afterKey(let key):
            return ("unexpected `\(written)` after the key `\(key)`", keyValueHint(byte))
        }
    }

    /// xl flags `+ - . ( ) :` as signs of Python, which old xm configs were.
    private func keyValueHint(_ byte: UInt8) -> String {
        let pythonish = [Ascii.plus, Ascii.minus, Ascii.dot, UInt8(ascii: "("), UInt8(ascii: ")"), Ascii.colon].contains(byte)
        return pythonish
            ? "xl.cfg is not Python: write KEY = VALUE with quoted strings (xl will also say the file looks like Python)"
            : "write KEY = VALUE with quoted strings"
    }

    /// Hint for a key written with characters keys cannot have.
    private func suggestionHint(for written: String) -> String {
        let lowered = String(written.lowercased().map { $0 == "-" ? "_" : $0 })
        return "keys are lowercase letters, digits, `_` and `.`: did you mean `\(lowered)`?"
    }
}
