/// Prints a `DeviceTree` as DTS source that dtc 1.6.1 compiles back into
/// an equivalent tree: same nodes, properties and values, in order.
///
/// Values with a shape print as shaped (`<..>` groups, `"a", "b"`, `[..]`,
/// `&label` for phandle cells whose target is labelled). Values without
/// one (read from a DTB) are typed by the same guess dtc uses.
public enum DTSPrinter {
    public static func print(_ tree: DeviceTree) -> String {
        var printer = Printer(labels: labelsByPhandle(tree))
        printer.out += "/dts-v1/;\n\n"
        for entry in tree.reservations {
            printer.out += "/memreserve/ \(hex(entry.address)) \(hex(entry.size));\n"
        }
        if !tree.reservations.isEmpty { printer.out += "\n" }
        printer.node(tree.root, depth: 0)
        // dtc has no `label: / {` form; labels on the root go on a reference.
        for label in tree.root.labels {
            printer.out += "\n\(label): &{/} {\n};\n"
        }
        return printer.out
    }

    /// The first label of each labelled node that has a phandle.
    private static func labelsByPhandle(_ tree: DeviceTree) -> [UInt32: String] {
        var labels: [UInt32: String] = [:]
        var stack = [tree.root]
        while let node = stack.popLast() {
            if let label = node.labels.first, let phandle = node.phandle, labels[phandle] == nil {
                labels[phandle] = label
            }
            stack.append(contentsOf: node.children)
        }
        return labels
    }

    private struct Printer {
        let labels: [UInt32: String]
        var out = ""

        init(labels: [UInt32: String]) { self.labels = labels }

        mutating func node(_ node: Node, depth: Int) {
            let indent = String(repeating: "\t", count: depth)
            let prefix = node.labels.map { "\($0): " }.joined()
            out += indent + (depth == 0 ? "/" : prefix + node.name) + " {\n"
            for property in node.properties {
                out += indent + "\t" + property.name
                if !property.value.isEmpty {
                    out += " = " + value(property.value)
                }
                out += ";\n"
            }
            for child in node.children {
                out += "\n"
                self.node(child, depth: depth + 1)
            }
            out += indent + "};\n"
        }

        func value(_ value: PropertyValue) -> String {
            let shape = value.shape ?? [DTSPrinter.guessedShape(value.bytes)]
            var parts: [String] = []
            var offset = 0
            let bytes = value.bytes
            for segment in shape {
                switch segment {
                case .cells(let count, let phandles):
                    let cells = (0..<count).map { index -> String in
                        let cell = bytes.bigEndianU32(at: offset + index * 4)
                        if phandles.contains(index), let label = labels[cell] { return "&" + label }
                        return hex(cell)
                    }
                    parts.append("<" + cells.joined(separator: " ") + ">")
                    offset += count * 4
                case .strings(let count):
                    for _ in 0..<count {
                        let end = bytes[offset...].firstIndex(of: 0) ?? bytes.count
                        parts.append(DTSPrinter.quoted(bytes[offset..<end]))
                        offset = end + 1
                    }
                case .bytes(let count):
                    let hexBytes = bytes[offset..<offset + count].map { byte in
                        byte < 0x10 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
                    }
                    parts.append("[" + hexBytes.joined(separator: " ") + "]")
                    offset += count
                }
            }
            return parts.joined(separator: ", ")
        }
    }

    /// dtc's guess for an untyped value: strings when every byte is
    /// printable or NUL, it ends with NUL and NULs are not the majority;
    /// else cells when the length is a multiple of 4; else bytes.
    static func guessedShape(_ bytes: [UInt8]) -> PropertyValue.Segment {
        let nuls = bytes.lazy.filter { $0 == 0 }.count
        let printable = bytes.allSatisfy { $0 == 0 || (0x20...0x7e).contains($0) || (0x07...0x0d).contains($0) }
        if let last = bytes.last, last == 0, printable, nuls <= bytes.count - nuls {
            return .strings(count: nuls)
        }
        if bytes.count % 4 == 0 {
            return .cells(count: bytes.count / 4, phandles: [])
        }
        return .bytes(count: bytes.count)
    }

    /// A DTS string literal; bytes outside printable ASCII become escapes.
    static func quoted(_ bytes: ArraySlice<UInt8>) -> String {
        var out = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0d: out += "\\r"
            case 0x20...0x7e: out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return out + "\""
    }
}
