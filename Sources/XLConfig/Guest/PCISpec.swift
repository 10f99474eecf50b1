/// `xlu_pci_parse_spec_string` (`libxlu_pci.c`): `[DDDD:]BB:DD.F[@VSLOT][,KEY=VALUE...]`
/// or `name=...` instead of the BDF. Only validity matters for the tree
/// (any entry adds the vPCI host bridge); the result is the reason xl
/// refuses the spec, or nil.
enum PCISpec {
    static func problem(in spec: [UInt8]) -> String? {
        var cursor = 0
        var hasBDF = false
        var hasName = false
        if let end = bdfEnd(spec, from: 0) {
            hasBDF = true
            cursor = end
            if cursor < spec.count, spec[cursor] == Ascii.at {
                guard let slotEnd = vslotEnd(spec, from: cursor + 1) else { return "bad virtual slot after `@` (hex, at most 1f)" }
                cursor = slotEnd
            }
            if cursor < spec.count, spec[cursor] == Ascii.comma {
                cursor += 1
            } else if cursor < spec.count {
                return "unexpected text after the BDF"
            }
        }
        while cursor < spec.count {
            guard let equals = spec[cursor...].firstIndex(of: Ascii.equals) else {
                return hasBDF ? "options are KEY=VALUE" : "not a BDF (`[DDDD:]BB:DD.F`) or KEY=VALUE"
            }
            let key = String(decoding: spec[cursor..<equals], as: UTF8.self)
            let valueEnd = spec[equals...].firstIndex(of: Ascii.comma) ?? spec.count
            let value = Array(spec[(equals + 1)..<valueEnd])
            cursor = valueEnd < spec.count ? valueEnd + 1 : valueEnd
            switch key {
            case "bdf":
                if bdfEnd(value, from: 0) != nil { hasBDF = true }
            case "vslot":
                guard vslotEnd(value, from: 0) != nil else { return "bad vslot (hex, at most 1f)" }
            case "permissive", "msitranslate", "seize", "power_mgmt":
                break
            case "rdm_policy":
                guard ["strict", "relaxed", "invalid"].contains(String(decoding: value, as: UTF8.self).lowercased()) else {
                    return "unknown rdm_policy (strict or relaxed)"
                }
            case "name":
                hasName = true
            default:
                return "unknown option `\(key)`"
            }
        }
        guard hasBDF != hasName else {
            return hasBDF ? "give either a BDF or name=, not both" : "no BDF (`[DDDD:]BB:DD.F`) and no name="
        }
        return nil
    }

    /// `parse_bdf`: two or three hex fields separated by `:`, then `.` and a
    /// function (or `*`), within PCI limits. Returns the offset after it.
    private static func bdfEnd(_ text: [UInt8], from start: Int) -> Int? {
        var colons = 0
        var cursor = start
        while cursor < text.count, Ascii.digitValue(text[cursor], base: 16) != nil || text[cursor] == Ascii.colon {
            if text[cursor] == Ascii.colon { colons += 1 }
            cursor += 1
        }
        guard colons == 1 || colons == 2 else { return nil }
        var fields: [UInt64] = []
        cursor = start
        for index in 0...colons {
            guard let (value, end) = CNumber.scanHex(text, from: cursor) else { return nil }
            fields.append(UInt64(UInt32(truncatingIfNeeded: value)))
            let separator = index == colons ? Ascii.dot : Ascii.colon
            guard end < text.count, text[end] == separator else { return nil }
            cursor = end + 1
        }
        let domain = colons == 2 ? fields[0] : 0
        let bus = fields[colons - 1], device = fields[colons]
        guard domain <= 0xFFFF, bus <= 0xFF, device <= 0x1F else { return nil }
        if cursor < text.count, text[cursor] == Ascii.star { return cursor + 1 }
        guard let (function, end) = CNumber.scanHex(text, from: cursor), UInt32(truncatingIfNeeded: function) <= 7 else { return nil }
        return end
    }

    private static func vslotEnd(_ text: [UInt8], from start: Int) -> Int? {
        guard let (value, end) = CNumber.scanHex(text, from: start), UInt32(truncatingIfNeeded: value) <= 0x1F else { return nil }
        return end
    }
}
