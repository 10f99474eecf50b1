/// One `KEY = VALUE` or `KEY += VALUE` as stored by xl (`XLU_ConfigSetting`).
/// For `+=` the value already holds the earlier value joined with the new
/// one; the earlier setting then keeps an empty value (only the last
/// setting of a key is ever read), so long `+=` chains stay linear.
struct Setting: Sendable {
    enum Operation: Sendable { case assign, append }

    var key: String
    var keyRange: Range<Int>
    var operation: Operation
    var operatorRange: Range<Int>
    var value: ConfigValue
    /// Index (in the file's settings) of the previous setting of the same key.
    var earlier: Int? = nil
}

/// A value: a string or number atom (xl keeps both as text), or a list.
enum ConfigValue: Sendable {
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

    /// Appends a value of the same kind in place (xl's `+=`), taking `later`'s
    /// place. The payload is moved out first so its storage is unique and
    /// grows without copying.
    mutating func append(_ later: ConfigValue) {
        let placeholder = ConfigValue.taken(at: later.range)
        if case .atom(var atom) = self, case .atom(let new) = later {
            self = placeholder
            atom.text.append(new.text)
            atom.range = new.range
            self = .atom(atom)
        } else if case .list(var list) = self, case .list(let new) = later {
            self = placeholder
            list.items.append(contentsOf: new.items)
            list.range = new.range
            self = .list(list)
        } else {
            self = later
        }
    }

    /// A placeholder left behind when a `+=` takes a value over.
    static func taken(at range: Range<Int>) -> ConfigValue { .list(ListValue(items: [], range: range)) }
}

struct Atom: Sendable {
    var text: XLString
    /// The token as written, quotes included.
    var range: Range<Int>
}

struct ListValue: Sendable {
    var items: [ConfigValue]
    /// From `[` to `]`.
    var range: Range<Int>
}
