import Diagnostics
import Testing
import TestSupport
import XLConfig

/// Seeded random inputs: the reader never crashes or hangs, and every
/// finding points inside the file.
@Suite struct PropertyTests {
    static let fragments = [
        "name", "memory", "vcpus", "maxvcpus", "disk", "virtio", "type", "gic_version", "irqs", "iomem", "pci", "extra",
        "cmdline", "root", "nr_spis", "tee", "vuart", "acpi", "kernel", "builder", "memroy", "Name", " ", "\t", "=", "+=",
        ";", "\n", "\n", "\n", ",", "[", "]", "\"pvh\"", "'v3'", "512", "0x1f", "0x1F", "010", "08", "-1", "1.5", "v3",
        "\"a\\nb\"", "\"a\\qb\"", "\"\\x41\"", "'open", "# comment\n", "#", "\r\n", "\r", "\"\"", "[]", "(", "@", "é", "\\",
        "'backend=2, specification=virtio, vdev=xvda, target=/dev/vg/a'", "'vdev=xvda, grant_usage=true, target=/x'",
        "'type=virtio,device22, transport=mmio, backend=storage'", "'type=virtio, device22, transport=mmio'",
        "'type=virtio'", "'backend = 1'", "'grant_usage=yes,transport=mmio,type=virtio,device'", "\"01:00.0\"", "\"1,2@3\"",
        "'backendtype=phy, specification=virtio, vdev=xvda, target=/x'", "'=x'", "'foo:/x'", "\"0x1,2@\"",
    ]

    @Test func randomBytesNeverBreakTheReader() {
        var generator = SplitMix64(seed: 0x5eed_0001)
        for _ in 0..<2000 {
            let count = Int.random(in: 0...200, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            check(bytes, version: "4.22", generator: &generator)
        }
    }

    @Test func nearValidConfigsNeverBreakTheReader() {
        var generator = SplitMix64(seed: 0x5eed_0002)
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...40, using: &generator) {
                text += Self.fragments.randomElement(using: &generator) ?? ""
            }
            let version = ["4.17", "4.18", "4.19", "4.21", "4.22"].randomElement(using: &generator) ?? "4.22"
            check(Array(text.utf8), version: version, generator: &generator)
        }
    }

    @Test func randomDomainFilesNeverBreakTheParser() {
        var generator = SplitMix64(seed: 0x5eed_0003)
        let pieces = ["storage", "Domain-0", "a.b-c_d", " ", "\t", "2", "32752", "0x1", "#", "\n", "\n", "/", "é", "99999999999"]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...20, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
            let (_, diagnostics) = DomainTable.parse(file: "d.txt", text: Array(text.utf8))
            expectInside(diagnostics, Array(text.utf8), file: "d.txt")
        }
    }

    /// Shapes that once cost quadratic time or deep recursion, at sizes that
    /// would hang or crash a naive reader (no timing is asserted).
    @Test func largeAdversarialInputsFinish() {
        let inputs = [
            "name = \"a\"\n" + String(repeating: "extra += \"x\"\n", count: 20_000),
            "name = \"a\"\n" + String(repeating: "dtdev += [ \"x\" ]\n", count: 20_000),
            "name = \"a\"\nx = " + String(repeating: "[", count: 50_000) + "\n",
            "name = \"a\"\n" + String(repeating: "memory = 1; ", count: 20_000) + "\n",
            "name = \"a\"\ndisk = [ '" + String(repeating: "vdev=x,", count: 20_000) + "' ]\n",
            "name = \"a\"\nvirtio = [ '" + String(repeating: "x,", count: 20_000) + "' ]\n",
            "name = \"a\"\ndisk = [ " + String(repeating: "'x',\n", count: 20_000),
        ]
        var results: [XLReadResult] = []
        for text in inputs {
            let result = read(text)
            expectInside(result.diagnostics, Array(text.utf8), file: "guest.cfg")
            results.append(result)
        }
        #expect(results[0].guest?.extra?.value.count == 20_000)
        #expect(results[1].guest?.dtdev.count == 20_000)
        #expect(rules(results[2]) == ["XL-SYNTAX"])
        #expect(results[4].diagnostics.count == 11)
    }

    private func check(_ bytes: [UInt8], version: String, generator: inout SplitMix64) {
        let domains = Bool.random(using: &generator) ? "storage 2\nguest 3\n" : nil
        let result = XLConfigReader.read(file: "fuzz.cfg", text: bytes, options: options(version: version, domains: domains))
        expectInside(result.diagnostics, bytes, file: "fuzz.cfg")
        // Errors decide usability only through syntax: a usable file has a guest.
        if result.guest == nil {
            #expect(result.diagnostics.contains { $0.severity == .error })
        }
        // Sorted by position, each finding once.
        let places = result.diagnostics.map { ($0.line ?? 0, $0.column ?? 0) }
        #expect(zip(places, places.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(Set(result.diagnostics).count == result.diagnostics.count)
        #expect(result.diagnostics.allSatisfy { $0.hint?.isEmpty == false })
    }

    /// Every finding with a line names a real line, a column at most one
    /// past its end, a caret that stays on the line, and that line's text.
    private func expectInside(_ diagnostics: [Diagnostic], _ bytes: [UInt8], file: String) {
        let lines = lineTexts(bytes)
        var shown: [Int: String] = [:]
        for diagnostic in diagnostics {
            #expect(diagnostic.file == file)
            guard let line = diagnostic.line else {
                #expect(diagnostic.column == nil)
                continue
            }
            guard line >= 1, line <= lines.count, let column = diagnostic.column else {
                Issue.record("line \(line) outside 1...\(lines.count): \(DiagnosticText.render(diagnostic))")
                continue
            }
            let length = lines[line - 1].count
            #expect(column >= 1 && column <= length + 1, "\(DiagnosticText.render(diagnostic))")
            #expect(column + diagnostic.span - 1 <= max(length, 1) || diagnostic.span == 1, "\(DiagnosticText.render(diagnostic))")
            // Lines are compared once each: a long line can carry thousands of findings.
            if shown[line] == nil {
                shown[line] = printable(lines[line - 1])
                #expect(diagnostic.sourceLine == shown[line])
            }
        }
    }

    /// A line as findings show it: control characters (C0, DEL, C1) other than tab become `?`.
    private func printable(_ line: [UInt8]) -> String {
        let text = String(decoding: line, as: UTF8.self)
        return String(String.UnicodeScalarView(text.unicodeScalars.map {
            ($0.value < 0x20 && $0 != "\t") || (0x7F...0x9F).contains($0.value) ? "?" : $0
        }))
    }

    /// Lines without their `\n` (and a `\r` before it); a final newline starts no line.
    private func lineTexts(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if lines.count > 1, lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { $0.last == UInt8(ascii: "\r") ? Array($0.dropLast()) : $0 }
    }
}
