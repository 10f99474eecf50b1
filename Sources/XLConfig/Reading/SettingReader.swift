import Diagnostics

/// xl's typed getters (`xlu_cfg_get_string`, `_long`, `_list` in
/// `libxlu_cfg.c`) over the parsed settings: the last setting of a key
/// wins, and a value of the wrong shape is reported and ignored, as xl does.
struct SettingReader {
    let source: SourceText
    private let settings: [Setting]
    private(set) var diagnostics: [Diagnostic] = []

    init(source: SourceText, settings: [Setting]) {
        self.source = source
        self.settings = settings
    }

    mutating func report(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    /// The setting xl uses for `key`: the last one.
    func last(_ key: String) -> Setting? { lastIndex(of: key).map { settings[$0] } }

    /// The index of the last setting of `key`. Comparing lengths first skips
    /// most keys cheaply (`==` on two different strings takes the slow
    /// comparison path), and the index loop reads each key in place where
    /// `last(where:)` copied every setting it passed.
    private func lastIndex(of key: String) -> Int? {
        let length = key.utf8.count
        var index = settings.count
        while index > 0 {
            index -= 1
            if settings[index].key.utf8.count == length, settings[index].key == key { return index }
        }
        return nil
    }

    func location(_ range: Range<Int>) -> SourceLocation { source.location(range) }

    /// A single value (string or number token), or nil with a warning for a list.
    private mutating func atom(_ key: String) -> (index: Int, atom: Atom)? {
        guard let index = lastIndex(of: key) else { return nil }
        switch settings[index].value {
        case .atom(let atom): return (index, atom)
        case .list(let list):
            report(XLRules.notSingle.at(
                location(list.range), "`\(key)` is a list, but xl reads a single value here and ignores the setting",
                hint: "write \(key) = \"...\" without brackets"))
            return nil
        }
    }

    /// A string value as written (xl's numbers are text too).
    mutating func string(_ key: String) -> Located<String>? {
        atom(key).map { Located($0.atom.text.text, at: location($0.atom.range)) }
    }

    /// A number read with `strtol(…, 0)`; anything xl would not accept is
    /// reported and ignored, as xl does.
    mutating func number(_ key: String) -> Located<Int64>? {
        guard let (index, atom) = atom(key) else { return nil }
        let here = location(atom.range)
        if settings[index].operation == .append {
            report(XLRules.addNumber.at(
                location(settings[index].operatorRange), "xl cannot use += with numbers: it ignores `\(key)`",
                hint: "write \(key) = NUMBER"))
            return nil
        }
        let bytes = atom.text.bytes
        let (value, end, overflow) = CNumber.strtol(bytes, base: 0)
        if overflow {
            report(XLRules.notANumber.at(here, "`\(atom.text.text)` is out of range for `\(key)`: xl ignores the setting",
                                         hint: "write a smaller number"))
            return nil
        }
        guard end == bytes.count, end > 0 else {
            report(XLRules.notANumber.at(here, "`\(atom.text.text)` is not a number xl can read: it ignores `\(key)`",
                                         hint: numberHint(bytes, key: key)))
            return nil
        }
        let scan = CNumber.scan(bytes, base: 0)
        if scan.base == 8, end - scan.digitsStart > 1, value != 0 {
            let decimal = String(decoding: bytes[scan.digitsStart...].drop { $0 == Ascii.zero }, as: UTF8.self)
            report(XLRules.octal.at(here, "xl reads `\(atom.text.text)` as octal: `\(key)` is \(value), not \(decimal)",
                                    hint: "write \(key) = \(decimal) for decimal, or 0x\(String(value, radix: 16)) to make the base clear"))
        }
        return Located(value, at: here)
    }

    private func numberHint(_ bytes: [UInt8], key: String) -> String {
        let scan = CNumber.scan(bytes, base: 0)
        if scan.base == 8, bytes[scan.digitsStart...].contains(where: { $0 == UInt8(ascii: "8") || $0 == UInt8(ascii: "9") }) {
            return "a leading 0 means octal to xl, where 8 and 9 are not digits: drop the leading zero"
        }
        return "write a decimal number, or hex with 0x (lowercase digits when unquoted)"
    }

    /// A list value, or nil with a warning for a single value.
    private mutating func list(_ key: String) -> ListValue? {
        guard let index = lastIndex(of: key) else { return nil }
        switch settings[index].value {
        case .list(let list): return list
        case .atom(let atom):
            report(XLRules.notAList.at(
                location(atom.range), "`\(key)` is a single value, but xl reads a list here and ignores the setting",
                hint: "write \(key) = [ \(String(decoding: source.bytes[atom.range], as: UTF8.self)) ]"))
            return nil
        }
    }

    /// The string items of a device list, as xl's `while (item = get_listitem)`
    /// loops read them: the first nested list ends the list.
    mutating func listItems(_ key: String) -> [Atom] {
        guard let list = list(key) else { return [] }
        var atoms: [Atom] = []
        atoms.reserveCapacity(list.items.count)
        for (position, item) in list.items.enumerated() {
            switch item {
            case .atom(let atom): atoms.append(atom)
            case .list(let nested):
                let rest = list.items.count - position - 1
                let ignored = rest == 0 ? "this entry" : "this entry and the \(rest) after it"
                report(XLRules.nestedList.at(
                    location(nested.range), "xl stops reading `\(key)` at a nested list: \(ignored) are ignored",
                    hint: "write each \(key) entry as a quoted string, without inner brackets"))
                return atoms
            }
        }
        return atoms
    }

    /// Every item of a list that xl reads by index and refuses when an
    /// item is not a single value (`irqs`, `iomem`).
    mutating func strictListItems(_ key: String) -> [Atom]? {
        guard let list = list(key) else { return nil }
        var atoms: [Atom] = []
        for (position, item) in list.items.enumerated() {
            switch item {
            case .atom(let atom): atoms.append(atom)
            case .list(let nested):
                report(XLRules.invalidValue.at(
                    location(nested.range), "xl cannot read item \(position + 1) of `\(key)`: it is a list, and xl stops",
                    hint: "write each \(key) item as a single value"))
                return nil
            }
        }
        return atoms
    }
}
