import Diagnostics
import Testing

@Suite struct DiagnosticTests {
    static let rule = Rule("XL-UNQUOTED", .error, summary: "an unquoted word", fix: "put the value in quotes")

    @Test func textFormatWithCaret() {
        let location = SourceLocation(file: "g.cfg", line: 3, column: 15, span: 2, sourceLine: "gic_version = v3")
        let text = DiagnosticText.render(Self.rule.at(location, "unquoted word 'v3'", hint: "write gic_version = \"v3\""))
        #expect(text == """
            g.cfg:3:15: error[XL-UNQUOTED]: unquoted word 'v3'
             3 | gic_version = v3
               |               ^~
            hint: write gic_version = "v3"

            """)
    }

    @Test func treeFindingsNameTheNode() {
        let rule = Rule("DT-IOMMUS-DANGLING", .error, summary: "s", fix: "f")
        let text = DiagnosticText.render(rule.at(file: "g.dtb", node: "/virtio@2000000", "no node has phandle 0x5"))
        #expect(text == "g.dtb: error[DT-IOMMUS-DANGLING]: /virtio@2000000: no node has phandle 0x5\nhint: f\n")
    }

    @Test func exitCodes() {
        let warning = Rule("W", .warning, summary: "", fix: "").about(file: nil, "w")
        let note = Rule("N", .note, summary: "", fix: "").about(file: nil, "n")
        let error = Self.rule.about(file: nil, "e")
        #expect(Diagnostic.exitCode(for: [warning, note]) == 0)
        #expect(Diagnostic.exitCode(for: [warning], werror: true) == 1)
        #expect(Diagnostic.exitCode(for: [note], werror: true) == 0)
        #expect(Diagnostic.exitCode(for: [error]) == 1)
        #expect(warning.promotingWarning(true).severity == .error)
        #expect(note.promotingWarning(true).severity == .note)
    }

    @Test func jsonShapeHasEveryKey() {
        let diagnostic = Rule("DT-X", .warning, summary: "", fix: "fix it").at(file: "a.dtb", node: "/n", "msg \"q\"\n")
        #expect(diagnostic.json.serialized() == """
            {
              "severity": "warning",
              "rule": "DT-X",
              "message": "msg \\"q\\"\\n",
              "file": "a.dtb",
              "line": null,
              "column": null,
              "node": "/n",
              "hint": "fix it"
            }
            """)
    }

    @Test func jsonEscapesAndNumbers() {
        let value = JSON.object([
            ("a", .array([.int(-1), .unsigned(UInt64.max), .double(0.5), .bool(true), .null])),
            ("ctl", .string("\u{1}")), ("empty", .array([])), ("obj", .object([])),
        ])
        #expect(value.serialized() == """
            {
              "a": [
                -1,
                18446744073709551615,
                0.5,
                true,
                null
              ],
              "ctl": "\\u0001",
              "empty": [],
              "obj": {}
            }
            """)
    }
}

/// Found by fuzzing (Fuzz/corpus/dtb/crash-74f5bf48…, partial-dt/crash-480dba8f…):
/// messages quote a blob's strings, and raw control characters reached
/// the terminal and could split a finding across lines.
@Suite struct ControlCharacterTests {
    static let rule = Rule("DT-X", .error, summary: "", fix: "fix \u{1b}[31mit")

    @Test func messageNodeAndHintAreEscaped() {
        let diagnostic = Self.rule.at(file: "a\nb.dtb", node: "/n\u{7f}", "compatible \"\u{02}nt\ndma\" \u{9b}2J")
        #expect(DiagnosticText.render(diagnostic) == """
            a\\nb.dtb: error[DT-X]: /n\\x7f: compatible "\\x02nt\\ndma" \\u{9b}2J
            hint: fix \\x1b[31mit

            """)
    }

    @Test func sourceLineIsEscapedAfterTabs() {
        let location = SourceLocation(file: "g.cfg", line: 1, column: 3, sourceLine: "a\tb\u{0c}c")
        let text = DiagnosticText.render(Rule("XL-X", .warning, summary: "", fix: "f").at(location, "m"))
        #expect(text == "g.cfg:1:3: warning[XL-X]: m\n 1 | a b\\x0cc\n   |   ^\nhint: f\n")
    }

    @Test func escapesNameTheCommonControls() {
        #expect(Printable.escaped("a\tb\nc\rd\u{0}e\u{1f}f\u{7f}g\u{80}h\u{9f}") == #"a\tb\nc\rd\x00e\x1ff\x7fg\u{80}h\u{9f}"#)
        #expect(!Printable.isControl(" ") && !Printable.isControl("~") && !Printable.isControl("\u{a0}"))
    }

    @Test func printableTextIsUnchanged() {
        let text = "virtio,mmio — ünïcode \"quotes\" \\ backslash"
        #expect(DiagnosticText.render(Self.rule.about(file: nil, text, hint: "h")) == "error[DT-X]: \(text)\nhint: h\n")
    }
}
