/// A JSON value with ordered object keys, and its serialisation. Small on
/// purpose: the CLI's JSON shapes are fixed interfaces and key order is
/// part of what users see.
public indirect enum JSON: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case unsigned(UInt64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool { lhs.serialized() == rhs.serialized() }
    public func hash(into hasher: inout Hasher) { hasher.combine(serialized()) }

    /// `.string(value)` or `.null`.
    public static func optional(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
    /// `.int(value)` or `.null`.
    public static func optional(_ value: Int?) -> JSON { value.map(JSON.int) ?? .null }
    /// `.unsigned(value)` or `.null`.
    public static func optional(_ value: UInt64?) -> JSON { value.map(JSON.unsigned) ?? .null }

    /// The serialised text, two-space indented, without a trailing newline.
    public func serialized() -> String {
        var out = ""
        write(to: &out, indent: 0)
        return out
    }

    private func write(to out: inout String, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .unsigned(let value): out += String(value)
        case .double(let value): out += value.isFinite ? String(value) : "null"
        case .string(let value): JSON.quote(value, into: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += String(repeating: "  ", count: indent + 1)
                item.write(to: &out, indent: indent + 1)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "  ", count: indent) + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (index, (key, value)) in members.enumerated() {
                out += String(repeating: "  ", count: indent + 1)
                JSON.quote(key, into: &out)
                out += ": "
                value.write(to: &out, indent: indent + 1)
                out += index == members.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "  ", count: indent) + "}"
        }
    }

    private static func quote(_ string: String, into out: inout String) {
        out += "\""
        // Fast path: most strings (paths, rule ids) need no escape, and
        // appending them whole is several times faster than per scalar.
        if string.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out += string
            out += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension Diagnostic {
    /// The diagnostic shape of validate's JSON: every key present, null
    /// where a field does not apply.
    public var json: JSON {
        .object([
            ("severity", .string(severity.rawValue)),
            ("rule", .string(rule)),
            ("message", .string(message)),
            ("file", .optional(file)),
            ("line", .optional(line)),
            ("column", .optional(column)),
            ("node", .optional(node)),
            ("hint", .optional(hint)),
        ])
    }
}
