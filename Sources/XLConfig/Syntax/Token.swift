/// A token of xl's config lexer (`libxlu_cfg_l.l`), with its byte range.
struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        /// `[a-z][._0-9a-z]*`: a key, or an unquoted word in value position.
        case word
        /// `[0-9][0-9a-fx]*`, kept as text like xl does.
        case number
        /// A quoted string, decoded.
        case string
        case comma, openBracket, closeBracket, assign, append, semicolon
        /// A newline, or a `#` comment with its newline.
        case newline
        case end
        /// Bytes xl's lexer rejects (reported by the parser, which knows the context).
        case invalid(LexProblem)
    }

    var kind: Kind
    var range: Range<Int>
    /// A `.string` with backslash escapes, which its value must decode.
    var hasEscapes = false
}

/// Why the lexer rejected some bytes.
enum LexProblem: Equatable, Sendable {
    /// A character that starts no token; xl takes the rest of the
    /// non-blank run with it into the error.
    case badCharacter(UInt8)
    /// A quote with no closing quote before the end of the line.
    case unterminatedString
    /// A NUL byte inside a string: xl would cut the string there.
    case nulInString
}
