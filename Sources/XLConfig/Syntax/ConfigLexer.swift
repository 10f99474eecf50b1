import Diagnostics

/// xl's config lexer (`libxlu_cfg_l.l`) over bytes. Differences from xl are
/// deliberate and reported: a carriage return before a newline and a final
/// comment without a newline are accepted with a warning (xl refuses both);
/// an unterminated string is one error running to the end of its line.
struct ConfigLexer {
    private let source: SourceText
    private var bytes: [UInt8] { source.bytes }
    private var offset = 0
    private var warnedCRLF = false
    private(set) var diagnostics: [Diagnostic] = []

    init(source: SourceText) { self.source = source }

    /// All tokens, ending with one `.end`.
    mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        // Config tokens (keys, strings, blanks between them) average well over four bytes.
        tokens.reserveCapacity(bytes.count / 4 + 1)
        while true {
            let token = next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private mutating func next() -> Token {
        skipBlanks()
        let start = offset
        guard offset < bytes.count else { return Token(kind: .end, range: start..<start) }
        let byte = bytes[offset]
        switch byte {
        case Ascii.a...Ascii.z:
            offset = scan(from: offset + 1) { Ascii.isLowerAlnum($0) || $0 == Ascii.dot || $0 == Ascii.underscore }
            return Token(kind: .word, range: start..<offset)
        case Ascii.zero...Ascii.nine:
            offset = scan(from: offset + 1) { Ascii.isDigit($0) || (Ascii.a...Ascii.f).contains($0) || $0 == Ascii.x }
            return Token(kind: .number, range: start..<offset)
        case Ascii.comma: return single(.comma)
        case Ascii.openBracket: return single(.openBracket)
        case Ascii.closeBracket: return single(.closeBracket)
        case Ascii.equals: return single(.assign)
        case Ascii.semicolon: return single(.semicolon)
        case Ascii.plus where offset + 1 < bytes.count && bytes[offset + 1] == Ascii.equals:
            offset += 2
            return Token(kind: .append, range: start..<offset)
        case Ascii.newline: return single(.newline)
        case Ascii.hash: return comment()
        case Ascii.singleQuote, Ascii.doubleQuote: return quoted(byte)
        default:
            return badCharacter(byte)
        }
    }

    /// A byte no token starts with. xl's `lexerr` state swallows the rest
    /// of the non-blank run into the error, but it only reports once it
    /// has matched something after the bad byte: a bad last byte of the
    /// file is dropped without a word.
    private mutating func badCharacter(_ byte: UInt8) -> Token {
        let start = offset
        guard offset + 1 < bytes.count else {
            offset += 1
            diagnostics.append(XLRules.lastByte.at(
                source.location(offset: start),
                "the last byte of the file, `\(String(decoding: [byte], as: UTF8.self))`, is not valid here and has no newline after it: xl drops it without a word",
                hint: "remove it, or end the file with a newline (xl then reports it as an error)"))
            return Token(kind: .end, range: offset..<offset)
        }
        offset = scan(from: offset + 1) { !Ascii.isBlank($0) && $0 != Ascii.newline }
        return Token(kind: .invalid(.badCharacter(byte)), range: start..<offset)
    }

    private mutating func single(_ kind: Token.Kind) -> Token {
        offset += 1
        return Token(kind: kind, range: (offset - 1)..<offset)
    }

    private func scan(from start: Int, while accept: (UInt8) -> Bool) -> Int {
        var end = start
        while end < bytes.count, accept(bytes[end]) { end += 1 }
        return end
    }

    /// Spaces and tabs; a carriage return right before a newline too, with
    /// one warning per file.
    private mutating func skipBlanks() {
        while offset < bytes.count {
            let byte = bytes[offset]
            if Ascii.isBlank(byte) {
                offset += 1
            } else if byte == Ascii.carriageReturn, offset + 1 < bytes.count, bytes[offset + 1] == Ascii.newline {
                if !warnedCRLF {
                    warnedCRLF = true
                    diagnostics.append(XLRules.crlf.at(
                        source.location(offset: offset),
                        "this file has Windows line endings; xl refuses the carriage return as a lexical error",
                        hint: "convert the file to Unix line endings, for example with dos2unix"))
                }
                offset += 1
            } else {
                return
            }
        }
    }

    /// `#` to the end of the line. xl needs the newline; at the end of the file we accept it with a warning.
    private mutating func comment() -> Token {
        let start = offset
        offset = scan(from: offset) { $0 != Ascii.newline }
        if offset == bytes.count, offset == start + 1 {
            // A lone `#` as the last byte: xl drops it like any bad last byte, and nothing is lost.
            return Token(kind: .end, range: offset..<offset)
        }
        guard offset < bytes.count else {
            diagnostics.append(XLRules.commentAtEOF.at(
                source.location(offset: start, length: offset - start),
                "comment on the last line without a newline; xl refuses it as a lexical error",
                hint: "add a newline at the end of the file"))
            return Token(kind: .end, range: offset..<offset)
        }
        offset += 1
        return Token(kind: .newline, range: start..<offset)
    }

    /// A quoted string on one line. Escapes xl does not know are reported
    /// here, for every string; values are decoded by `value(of:in:)` for
    /// the strings the parser keeps.
    private mutating func quoted(_ quote: UInt8) -> Token {
        let start = offset
        var cursor = offset + 1
        var hasNUL = false
        var hasEscape = false
        while true {
            cursor = Self.plainRunEnd(bytes, from: cursor, quote: quote)
            guard cursor < bytes.count else { break }
            if bytes[cursor] == 0 {
                hasNUL = true
                cursor += 1
            } else if bytes[cursor] == Ascii.backslash, cursor + 1 < bytes.count, bytes[cursor + 1] != Ascii.newline {
                hasEscape = true
                cursor += 2
            } else {
                // The closing quote, a newline, or a backslash with nothing to escape.
                break
            }
        }
        guard cursor < bytes.count, bytes[cursor] == quote else {
            if start + 1 == bytes.count { return badCharacter(quote) }
            offset = scan(from: start) { $0 != Ascii.newline }
            if offset > start, bytes[offset - 1] == Ascii.carriageReturn, offset == bytes.count || bytes[offset] == Ascii.newline {
                offset -= 1
            }
            return Token(kind: .invalid(.unterminatedString), range: start..<offset)
        }
        offset = cursor + 1
        if hasNUL { return Token(kind: .invalid(.nulInString), range: start..<offset) }
        if hasEscape { reportUnknownEscapes(in: (start + 1)..<cursor) }
        return Token(kind: .string, range: start..<offset, hasEscapes: hasEscape)
    }

    /// The offset of the first byte from `start` on that a string quoted
    /// with `quote` must look at: its quote, a newline, a backslash or a
    /// NUL; or the end.
    static func plainRunEnd(_ bytes: [UInt8], from start: Int, quote: UInt8) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            ByteWords.firstStop(in: buffer, from: start, wordMayStop: { word in
                ByteWords.hasByte(quote, in: word) || ByteWords.hasByte(Ascii.newline, in: word)
                    || ByteWords.hasByte(Ascii.backslash, in: word) || ByteWords.hasByte(below: 1, in: word)
            }, isStop: { $0 == quote || $0 == Ascii.newline || $0 == Ascii.backslash || $0 == 0 })
        }
    }

    private mutating func reportUnknownEscapes(in content: Range<Int>) {
        var cursor = content.lowerBound
        while cursor < content.upperBound {
            guard bytes[cursor] == Ascii.backslash else {
                cursor += 1
                continue
            }
            if Self.simpleEscape(bytes[cursor + 1]) == nil { reportEscape(bytes[cursor + 1], at: cursor) }
            cursor += 2
        }
    }

    /// The value of a `.number` token (its text) or a `.string` token (its
    /// content with escapes decoded as `xlu__cfgl_dequote` does; an escape
    /// xl does not know stands for the escaped byte).
    static func value(of token: Token, in bytes: [UInt8]) -> XLString {
        guard token.kind == .string else { return XLString(plain: Array(bytes[token.range]), at: token.range.lowerBound) }
        let content = (token.range.lowerBound + 1)..<(token.range.upperBound - 1)
        guard token.hasEscapes else { return XLString(plain: Array(bytes[content]), at: content.lowerBound) }
        var decoded = XLString(capacity: content.count, endOffset: content.upperBound)
        var cursor = content.lowerBound
        while cursor < content.upperBound {
            let byte = bytes[cursor]
            guard byte == Ascii.backslash else {
                decoded.append(plain: byte, at: cursor)
                cursor += 1
                continue
            }
            let escaped = bytes[cursor + 1]
            decoded.append(escaped: simpleEscape(escaped) ?? escaped, at: cursor)
            cursor += 2
        }
        return decoded
    }

    private mutating func reportEscape(_ escaped: UInt8, at offset: Int) {
        let shown = "\\" + String(decoding: [escaped], as: UTF8.self)
        let message: String
        if escaped == Ascii.x {
            message = "xl cannot read `\\x` escapes: its parser rejects every one (\"invalid digit after backslash hex numerical character escape\")"
        } else if (Ascii.zero...Ascii.seven).contains(escaped) {
            message = "xl does not decode octal escapes: it rejects `\(shown)` or silently drops the digits"
        } else {
            message = "invalid escape `\(shown)` in a quoted string"
        }
        diagnostics.append(XLRules.escape.at(
            source.location(offset: offset, length: 2), message,
            hint: "write the character itself; the escapes xl knows are \\\\ \\' \\\" \\a \\b \\f \\n \\r \\t \\v"))
    }

    /// The byte an escape xl knows stands for (`\n` is a newline), or nil.
    private static func simpleEscape(_ escaped: UInt8) -> UInt8? {
        switch escaped {
        case Ascii.doubleQuote, Ascii.singleQuote, Ascii.backslash: escaped
        case UInt8(ascii: "a"): 0x07
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "v"): 0x0B
        default: nil
        }
    }
}
