/// The naming rules dtc enforces as errors (`node_name_chars`,
/// `node_name_format`, `property_name_chars`) and its label syntax. The
/// writer refuses names that break them, and the reader refuses blobs
/// that carry them, so every tree we hold prints as DTS that dtc accepts.
public enum Names {
    /// Why a name is not acceptable, in words; nil when it is.
    public static func nodeNameProblem(_ name: String) -> String? {
        let scan = scanned(name, allowing: isNodeChar)
        guard let first = scan.first else { return "a node name is empty" }
        if let bad = scan.refused {
            return "node name '\(printable(name))' contains \(describe(bad)), not allowed in node names"
        }
        if scan.ats > 1 { return "node name '\(name)' has more than one '@'" }
        if first == UInt8(ascii: "@") { return "node name '\(name)' has a unit address but no name before '@'" }
        return nil
    }

    /// Why a property name is not acceptable, in words; nil when it is.
    public static func propertyNameProblem(_ name: String) -> String? {
        let scan = scanned(name, allowing: isPropertyChar)
        guard scan.first != nil else { return "a property name is empty" }
        if let bad = scan.refused {
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

    /// What the name rules need of a name, from one pass over its bytes.
    private struct Scan {
        var first: UInt8?
        /// The first byte the rule refuses.
        var refused: UInt8?
        var ats = 0
    }

    /// `name`'s bytes read once, straight from the string's storage
    /// (iterating `utf8`, or one pass per question, costs several times
    /// more; the names of a guest tree are checked once each).
    @inline(__always)
    private static func scanned(_ name: String, allowing allowed: (UInt8) -> Bool) -> Scan {
        func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Scan {
            var scan = Scan(first: bytes.first)
            for byte in bytes {
                if byte == UInt8(ascii: "@") { scan.ats += 1 }
                if !allowed(byte) {
                    scan.refused = byte
                    break
                }
            }
            return scan
        }
        return name.utf8.withContiguousStorageIfAvailable(scan) ?? Array(name.utf8).withUnsafeBufferPointer(scan)
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
