import Diagnostics
import Testing
import XLConfig

/// The config grammar as xl's libxlu reads it (§10.1).
@Suite struct SyntaxTests {
    @Test func settingsEndWithNewlinesOrSemicolonsAndTheLastMayLackOne() throws {
        let result = read("name = \"a\"; memory = 512;;\n\n vcpus = 2 ;maxvcpus = 4")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let guest = try #require(result.guest)
        #expect(guest.name?.value == "a")
        #expect(guest.memoryMiB?.value == 512)
        #expect(guest.vcpus?.value == 2)
        #expect(guest.maxvcpus?.value == 4)
    }

    @Test func theLastAssignmentWinsAndEarlierOnesGetANote() throws {
        let result = read("name = \"a\"\nmemory = 256\nmemory = 1024\n")
        #expect(result.guest?.memoryMiB?.value == 1024)
        let note = try #require(only(XLRules.overridden, in: result))
        #expect(note.line == 2 && note.column == 1)
        #expect(note.message.contains("line 3"))
    }

    @Test func appendJoinsStringsAndLists() throws {
        let result = read("""
            name = "a"
            extra = "console=hvc0"
            extra += " quiet"
            dtdev = [ "/soc/a" ]
            dtdev += [ "/soc/b", ]
            """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(DiagnosticText.render))")
        let guest = try #require(result.guest)
        #expect(guest.extra?.value == "console=hvc0 quiet")
        #expect(guest.dtdev.map(\.value) == ["/soc/a", "/soc/b"])
        // Items keep their own places.
        #expect(guest.dtdev.map(\.location.line) == [4, 5])
    }

    @Test func appendWithoutEarlierValueIsPlainAndMismatchIsAnError() {
        #expect(read("name = \"a\"\nextra += \"x\"\n").guest?.extra?.value == "x")
        let mismatch = read("name = \"a\"\ndisk = []\ndisk += \"x\"\n")
        #expect(rules(mismatch) == ["XL-ADD-MISMATCH"])
        #expect(mismatch.guest == nil)
    }

    @Test func listsSpanLinesTakeTrailingCommasAndMayBeEmpty() throws {
        let result = read("""
            name = "a"
            pci = [
                "01:00.0",

                "02:00.0",
            ]
            dtdev = []
            irqs = [ 40 ,
              41 ]
            """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(DiagnosticText.render))")
        let guest = try #require(result.guest)
        #expect(guest.pci.map(\.value) == ["01:00.0", "02:00.0"])
        #expect(guest.irqs.map(\.value) == [40, 41])
        #expect(guest.dtdev.isEmpty)
    }

    @Test func commentsAndBlankLinesAreIgnored() {
        let result = read("# guest\n\nname = \"a\" # the name\n\t# indented\nmemory = 1 #\n")
        #expect(result.diagnostics.isEmpty)
        #expect(result.guest?.memoryMiB?.value == 1)
    }

    @Test func stringsTakeBothQuotesAndXlsEscapes() throws {
        let result = read(#"name = 'it\'s'"# + "\n" + #"cmdline = "a\tb \"q\" \\ \n""# + "\n")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(DiagnosticText.render))")
        let guest = try #require(result.guest)
        #expect(guest.name?.value == "it's")
        #expect(guest.cmdline?.value == "a\tb \"q\" \\ \n")
    }

    @Test func badEscapesAreErrorsAtTheBackslash() {
        for (text, column) in [(#"name = "a\qb""#, 10), (#"name = "\101""#, 9), (#"name = "x\x41""#, 10)] {
            let result = read(text + "\n")
            let escape = only(XLRules.escape, in: result)
            #expect(escape?.column == column, "\(text)")
            #expect(escape?.span == 2)
            #expect(result.guest == nil)
        }
    }

    @Test(arguments: [
        ("gic_version = v3\n", "XL-UNQUOTED", 1, 15, "gic_version = \"v3\""),
        ("acpi = true\n", "XL-UNQUOTED", 1, 8, "acpi = 1"),
        ("kernel = /boot/Image\n", "XL-LEXICAL", 1, 10, "kernel = \"/boot/Image\""),
        ("memory = 1.5\n", "XL-LEXICAL", 1, 11, "whole number"),
        ("iomem = [ \"1,2\" ]\nmemory = 0x1F\n", "XL-LEXICAL", 2, 13, "0x1f"),
        ("memory = -5\n", "XL-LEXICAL", 1, 10, "without `-`"),
        ("Memory = 5\n", "XL-LEXICAL", 1, 1, "`memory`"),
        ("my-key = 5\n", "XL-LEXICAL", 1, 1, "`my_key`"),
        ("name = \"open\n", "XL-LEXICAL", 1, 8, "closing quote"),
        ("memory 512\n", "XL-SYNTAX", 1, 8, "memory = VALUE"),
        ("memory =\n", "XL-SYNTAX", 1, 9, "after `=`"),
        ("= 5\n", "XL-SYNTAX", 1, 1, "KEY = VALUE"),
        ("\"name\" = 5\n", "XL-SYNTAX", 1, 1, "KEY = VALUE"),
        ("name = \"a\" \"b\"\n", "XL-SYNTAX", 1, 12, "+="),
        ("pci = [ \"a\",, \"b\" ]\n", "XL-SYNTAX", 1, 13, "extra comma"),
        ("pci = [ \"a\"\n", "XL-SYNTAX", 1, 7, "add `]`"),
        ("print(\"hello\")\n", "XL-LEXICAL", 1, 6, "not Python"),
    ])
    func syntaxErrorsPointAtTheCause(_ text: String, _ rule: String, _ line: Int, _ column: Int, _ hint: String) throws {
        let result = read("name = \"a\"\n" + text)
        let first = try #require(result.diagnostics.first { $0.severity == .error })
        #expect(first.rule == rule, "\(DiagnosticText.render(first))")
        #expect(first.line == line + 1)
        #expect(first.column == column)
        #expect(first.hint?.contains(hint) == true, "\(first.hint ?? "")")
        #expect(result.diagnostics.filter { $0.severity == .error }.count == 1, "\(result.diagnostics.map(DiagnosticText.render))")
        #expect(result.guest == nil)
    }

    @Test func oneReportPerBrokenStatementAndParsingGoesOn() throws {
        let result = read("""
            name = "a"
            disk = [ 'a' 'b',
                     'c' ]
            gic_version = V3 "x"
            memory = 512
            """)
        #expect(rules(result) == ["XL-SYNTAX", "XL-LEXICAL"], "\(result.diagnostics.map(DiagnosticText.render))")
        #expect(result.guest == nil)
    }

    @Test func anUnclosedListStopsAtTheNextSetting() {
        let result = read("name = \"a\"\ndisk = [ 'a',\n  'b'\nmemory = 5\nvcpus = x\n")
        #expect(rules(result) == ["XL-SYNTAX", "XL-UNQUOTED"])
        #expect(result.diagnostics.first?.line == 2)
        #expect(result.diagnostics.last?.line == 5)
    }

    @Test func aBrokenNameIsNotAlsoMissing() {
        #expect(rules(read("name = guest\n")) == ["XL-UNQUOTED"])
    }

    @Test func harmlessThingsXlRefusesAreWarnings() throws {
        let crlf = read("name = \"a\"\r\nmemory = 5\r\n")
        #expect(rules(crlf) == ["XL-CRLF"])
        #expect(crlf.guest?.memoryMiB?.value == 5)
        let comment = read("name = \"a\"\n# end")
        #expect(rules(comment) == ["XL-COMMENT-EOF"])
        #expect(comment.guest != nil)
        // A carriage return that does not end a line is still a lexical error.
        #expect(rules(read("name = \"a\"\rmemory = 5\n")) == ["XL-LEXICAL"])
    }

    @Test func aBadLastByteIsDroppedLikeXlDoes() {
        let result = read("name = \"a\"\nmemory = 0x1F")
        #expect(rules(result) == ["XL-LAST-BYTE"])
        #expect(result.guest?.memoryMiB?.value == 1)
        // A lone `#` at the very end loses nothing.
        #expect(read("name = \"a\"\n#").diagnostics.isEmpty)
    }

    @Test func theTextFormatPointsIntoSpecStrings() throws {
        let result = read("name = \"a\"\nvirtio = [ \"backend=2,\\ttype=virtio,device22, transport=mmio\" ]\n")
        let finding = try #require(result.diagnostics.first)
        #expect(DiagnosticText.render(finding) == #"""
            guest.cfg:2:23: error[XL-VIRTIO-SPEC]: unknown string "\ttype=virtio" in the virtio spec: xl exits
             2 | virtio = [ "backend=2,\ttype=virtio,device22, transport=mmio" ]
               |                       ^~~~~~~~~~~~~
            hint: xl skips only spaces before a key, not tabs: remove the tab

            """#)
    }

    @Test func controlCharactersNeverReachTheTerminal() throws {
        let result = read("name = \"a\"\nvirtio = [ \"backend=\u{1B}[31mred, type=virtio,device22, transport=mmio\" ]\n")
        let finding = try #require(only(XLRules.backendName, in: result))
        #expect(finding.message.contains("`\\x1b[31mred`"))
        #expect(finding.sourceLine?.contains("\u{1B}") == false)
        #expect(finding.sourceLine?.count == 69)
    }

    @Test func aByteOrderMarkIsNamed() throws {
        let result = XLConfigReader.read(file: "bom.cfg", text: [0xEF, 0xBB, 0xBF] + Array("name = \"a\"\n".utf8), options: XLOptions())
        let finding = try #require(only(XLRules.lexical, in: result))
        #expect(finding.message.contains("byte-order mark"))
        #expect(finding.line == 1 && finding.column == 1)
    }

    @Test func escapesMapBackToSourceColumns() throws {
        // Two escapes before the error shift decoded offsets by two against the file.
        let result = read(#"disk = [ "vdev=\"x\", bogus=1, target=/a" ]"# + "\n")
        let finding = try #require(only(XLRules.diskSpec, in: result))
        #expect(finding.line == 1)
        #expect(finding.column == 23)
        #expect(finding.span == 6)
        #expect(finding.sourceLine == #"disk = [ "vdev=\"x\", bogus=1, target=/a" ]"#)
    }

    @Test func columnsCountBytesAndTabsAsOne() throws {
        let result = read("name = \"é\"\n\tgic_version =\t\"v9\"\n")
        let finding = try #require(only(XLRules.invalidValue, in: result))
        #expect(finding.line == 2)
        #expect(finding.column == 16)
    }
}
