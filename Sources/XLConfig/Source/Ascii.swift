/// Byte constants and classes, as C's `<ctype.h>` sees them in the C locale.
enum Ascii {
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let tab = UInt8(ascii: "\t")
    static let space = UInt8(ascii: " ")
    static let hash = UInt8(ascii: "#")
    static let comma = UInt8(ascii: ",")
    static let semicolon = UInt8(ascii: ";")
    static let colon = UInt8(ascii: ":")
    static let equals = UInt8(ascii: "=")
    static let plus = UInt8(ascii: "+")
    static let minus = UInt8(ascii: "-")
    static let dot = UInt8(ascii: ".")
    static let at = UInt8(ascii: "@")
    static let star = UInt8(ascii: "*")
    static let underscore = UInt8(ascii: "_")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let singleQuote = UInt8(ascii: "'")
    static let doubleQuote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let zero = UInt8(ascii: "0")
    static let seven = UInt8(ascii: "7")
    static let nine = UInt8(ascii: "9")
    static let a = UInt8(ascii: "a")
    static let f = UInt8(ascii: "f")
    static let x = UInt8(ascii: "x")
    static let z = UInt8(ascii: "z")
    static let upperA = UInt8(ascii: "A")
    static let upperX = UInt8(ascii: "X")
    static let upperZ = UInt8(ascii: "Z")

    static func isDigit(_ byte: UInt8) -> Bool { (zero...nine).contains(byte) }
    static func isLower(_ byte: UInt8) -> Bool { (a...z).contains(byte) }
    static func isUpper(_ byte: UInt8) -> Bool { (upperA...upperZ).contains(byte) }
    static func isLowerAlnum(_ byte: UInt8) -> Bool { isLower(byte) || isDigit(byte) }
    static func isAlnum(_ byte: UInt8) -> Bool { isLowerAlnum(byte) || isUpper(byte) }
    /// xl's config blanks: space and tab only.
    static func isBlank(_ byte: UInt8) -> Bool { byte == space || byte == tab }
    /// C `isspace`: space, \t, \n, \v, \f, \r.
    static func isSpace(_ byte: UInt8) -> Bool { byte == space || (0x09...0x0D).contains(byte) }

    /// C `tolower`: ASCII uppercase letters become lowercase, other bytes stay.
    static func lowercased(_ byte: UInt8) -> UInt8 { isUpper(byte) ? byte | 0x20 : byte }

    /// The value of a digit in `base` (up to 36), or nil.
    static func digitValue(_ byte: UInt8, base: Int) -> Int? {
        let value: Int
        switch byte {
        case zero...nine: value = Int(byte - zero)
        case a...z: value = Int(byte - a) + 10
        case upperA...upperZ: value = Int(byte - upperA) + 10
        default: return nil
        }
        return value < base ? value : nil
    }
}
