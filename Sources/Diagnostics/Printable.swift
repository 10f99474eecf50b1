/// Untrusted text made safe to print. Findings quote a blob's strings and
/// a config's bytes; a raw control character there would split a finding
/// across lines or drive the terminal (an escape sequence).
public enum Printable {
    /// C0 controls (tab and newline included), DEL and the C1 controls.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
    }

    /// `text` with tab, newline and carriage return as `\t`, `\n`, `\r`,
    /// the other C0 controls and DEL as `\xNN`, and C1 controls as `\u{NN}`.
    public static func escaped(_ text: String) -> String {
        guard !isPrintableASCII(text), text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\t": result += "\\t"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case _ where isControl(scalar):
                let digits = String(scalar.value, radix: 16)
                let padded = digits.count < 2 ? "0" + digits : digits
                result += scalar.value < 0x80 ? "\\x" + padded : "\\u{" + padded + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Whether every byte is printable ASCII (space to `~`): most text is,
    /// and then a byte loop answers sooner than decoding scalars.
    private static func isPrintableASCII(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7f } }
    }
}
