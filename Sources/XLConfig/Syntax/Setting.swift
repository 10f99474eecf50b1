/// One `KEY = VALUE` or `KEY += VALUE` as stored by xl (`XLU_ConfigSetting`).
/// For `+=` the value already holds the earlier value joined with the new one.
struct Setting: Sendable {
    enum Operation: Sendable { case assign, append }

    var key: String
    var keyRange: Range<Int>
    var operation: Operation
    var operatorRange: Range<Int>
    var value: ConfigValue
}

/// A value: a string or number atom (xl keeps both as text), or a list.
indirect enum ConfigValue: Sendable {
    case atom(Atom)
    case list(ListValue)

    /// The file range of the value as written (for `+=`, of the appended part).
    var range: Range<Int> {
        switch self {
        case .atom(let atom): atom.range
        case .list(let list): list.range
        }
    }

    var isList: Bool { if case .list = self { true } else { false } }
}

struct Atom: Sendable {
    var text: XLString
    /// The token as written, quotes included.
    var range: Range<Int>
    /// Written as an unquoted number token.
    var isNumberToken: Bool
}

struct ListValue: Sendable {
    var items: [ConfigValue]
    /// From `[` to `]`.
    var range: Range<Int>
}
