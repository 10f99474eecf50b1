import DeviceTree
import Foundation
import GuestLayout
import TestSupport
import XLConfig

/// Inputs the tests make on the fly: kernel images, templates, partial trees.
enum Fixtures {
    /// An arm64 Image header: `0x14000008` at 0 (or only the "ARM\x64"
    /// magic at 0x38), `text_offset` at 8, padded to `size` bytes.
    static func arm64Image(textOffset: UInt64 = 0, size: Int = 4096, v1MagicOnly: Bool = false) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(size, 64))
        if !v1MagicOnly { put32(&bytes, 0, 0x1400_0008) }
        put32(&bytes, 8, UInt32(truncatingIfNeeded: textOffset))
        put32(&bytes, 12, UInt32(truncatingIfNeeded: textOffset >> 32))
        put32(&bytes, 0x38, 0x644d_5241)
        return bytes
    }

    /// An arm32 zImage header: `0x016f2818` at 0x24.
    static func arm32zImage(size: Int = 4096) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(size, 0x30))
        put32(&bytes, 0x24, 0x016f_2818)
        return bytes
    }

    private static func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    /// `gzip -c` of `bytes`, made by the real gzip.
    static func gzip(_ bytes: [UInt8], level: String = "-6") throws -> [UInt8] {
        let result = try Tool.run("gzip", ["-c", "-n", level], stdin: bytes)
        guard result.status == 0 else { throw FixtureError.tool(result.stderr) }
        return result.stdout
    }

    /// A template made from templates/libxl-arm.layout with lines replaced.
    static func template(replacing replacements: [(String, String)] = []) throws -> Template {
        var text = try String(contentsOfFile: Paths.inPackage("templates/libxl-arm.layout"), encoding: .utf8)
        for (old, new) in replacements {
            guard text.contains(old) else { throw FixtureError.noSuchLine(old) }
            text = text.replacingOccurrences(of: old, with: new)
        }
        let (template, diagnostics) = TemplateParser.parse(text, file: "variant.layout")
        guard let template else { throw FixtureError.template("\(diagnostics)") }
        return template
    }

    /// A partial tree compiled by dtc from DTS source.
    static func partialTree(_ source: String, file: String = "partial.dtb") throws -> GuestInputs.PartialTree {
        GuestInputs.PartialTree(file: file, tree: try DTBReader.read(DTC.compile(source).blob))
    }

    /// A partial tree whose /passthrough holds `body`.
    static func passthrough(_ body: String, extra: String = "") throws -> GuestInputs.PartialTree {
        try partialTree("""
            /dts-v1/;
            / {
                #address-cells = <2>;
                #size-cells = <2>;
                passthrough {
                    compatible = "simple-bus";
                    ranges;
                    #address-cells = <2>;
                    #size-cells = <2>;
                    \(body)
                };
                \(extra)
            };
            """)
    }

    enum FixtureError: Error {
        case tool(String)
        case noSuchLine(String)
        case template(String)
    }
}
