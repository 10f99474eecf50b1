/// The naming rules dtc enforces as errors (`node_name_chars`,
/// `node_name_format`, `property_name_chars`) and its label syntax. The
/// writer refuses names that break them, and the reader refuses blobs
/// that carry them, so every tree we hold prints as DTS that dtc accepts.
public enum Names {
    /// Why a name is not acceptable, in words; nil when it is.
    public static func nodeNameProblem(_ name: String) -> String? {
        let bytes = name.utf8
        guard let first = bytes.first else { return "a node name is empty" }
        if let bad = firstRefused(name, by: isNodeChar) {
            return "node name '\(printable(name))' contains \(describe(bad)), not allowed in node names"
        }
        var ats = 0
        for byte in bytes where byte == UInt8(ascii: "@") { ats += 1 }
        if ats > 1 { return "node name '\(name)' has more than one '@'" }
        if first == UInt8(ascii: "@") { return "node name '\(name)' has a unit address but no name before '@'" }
        return nil
    }

    /// Why a property name is not acceptable, in words; nil when it is.
    public static func propertyNameProblem(_ name: String) -> String? {
        let bytes = name.utf8
        guard !bytes.isEmpty else { return "a property name is empty" }
        if let bad = firstRefused(name, by: isPropertyChar) {
            return "property name '\(printable(name))' contains \(describe(bad)), not allowed in property names"
        }
        return nil
    }

    /// Why a label is not acceptable (`[A-Za-z_][A-Za-z0-9_]*`); nil when it is.
    public static func labelProblem(_ label: String) -> String? {
        let bytes = label.utf8
        guard let first = bytes.first else { return "a label is empty" }
        let valid = (isLetter(first) || first == UInt8(ascii: "_"))
            && bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
        return valid ? nil : "label '\(printable(label))' must match [A-Za-z_][A-Za-z0-9_]*"
    }

    /// The first byte of `name` that `allowed` refuses, read straight from
    /// the string's storage (iterating `utf8` costs several times more).
    private static func firstRefused(_ name: String, by allowed: (UInt8) -> Bool) -> UInt8? {
        let utf8 = name.utf8
        switch utf8.withContiguousStorageIfAvailable({ bytes in bytes.first { !allowed($0) } }) {
        case .some(let found): return found
        case .none: return utf8.first { !allowed($0) }
        }
    }

    static func isNodeChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"): true
        default: isLetter(byte) || isDigit(byte)
        }
    }

    static func isPropertyChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: "#"),
             UInt8(ascii: "?"), UInt8(ascii: "-"): true
        default: isLetter(byte) || isDigit(byte)
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private static func describe(_ byte: UInt8) -> String {
        (0x21...0x7e).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    /// A name with non-printable bytes replaced, safe for a one-line message.
    static func printable(_ name: String) -> String {
        String(name.unicodeScalars.map { (0x20...0x7e).contains($0.value) ? Character($0) : "?" })
    }
}
