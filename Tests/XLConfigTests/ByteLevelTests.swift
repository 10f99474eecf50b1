import Diagnostics
import Testing
import TestSupport
@testable import XLConfig

/// The byte-level helpers the front end's hot paths rest on: each is
/// checked against the plain definition it replaces.
@Suite struct ByteLevelTests {
    @Test func literalsMatchOnlyWhereTheBytesBeginWithThem() {
        let bytes = Array("vdev=xvda,target=/x".utf8)
        #expect(bytes.hasLiteral("vdev=", at: 0))
        #expect(bytes.hasLiteral("target=", at: 10))
        #expect(!bytes.hasLiteral("target=", at: 9))
        #expect(!bytes.hasLiteral("vdev=xvda,target=/xy", at: 0), "a literal longer than the rest never matches")
        #expect(bytes.hasLiteral("", at: bytes.count))
        #expect(!bytes.hasLiteral("x", at: bytes.count))
        #expect(!bytes.hasLiteral("v", at: -1))
    }

    @Test func literalsAgreeWithStartsWithOnRandomBytes() {
        var generator = SplitMix64(seed: 0x5eed_0101)
        let literals: [StaticString] = ["backend=", "type=virtio", "tap:", "grant_usage=1", "a"]
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...16, using: &generator)).map { _ in
                Array("abcdeknprtvy=:_1".utf8).randomElement(using: &generator) ?? 0
            }
            let offset = Int.random(in: 0...bytes.count, using: &generator)
            for literal in literals {
                let expected = literal.withUTF8Buffer { bytes[offset...].starts(with: $0) }
                #expect(bytes.hasLiteral(literal, at: offset) == expected)
            }
        }
    }

    /// `"a\nb" += "cd"` on the next line: decoded bytes map back to the
    /// characters that wrote them, escapes to both their bytes.
    @Test func decodedBytesMapBackToTheirFileRanges() {
        let text = "x = \"a\\nb\"\nx += \"cd\"\n"
        let source = SourceText(file: "t.cfg", bytes: Array(text.utf8))
        let first = Token(kind: .string, range: 4..<10, hasEscapes: true)
        var value = ConfigLexer.value(of: first, in: source.bytes)
        #expect(value.bytes == Array("a\nb".utf8))
        #expect(value.fileRange(0..<1, in: source) == 5..<6)
        #expect(value.fileRange(1..<2, in: source) == 6..<8)
        #expect(value.fileRange(2..<3, in: source) == 8..<9)
        #expect(value.fileRange(0..<3, in: source) == 5..<9)
        #expect(value.fileRange(3..<3, in: source) == 9..<10, "the end of the value is its closing quote")
        value.append(ConfigLexer.value(of: Token(kind: .string, range: 16..<20), in: source.bytes))
        #expect(value.text == "a\nbcd")
        #expect(value.fileRange(3..<5, in: source) == 17..<19)
        #expect(value.fileRange(2..<4, in: source) == 8..<9, "a range across lines keeps its first byte")
        #expect(value.fileRange(5..<5, in: source) == 19..<20)
    }

    @Test func plainValuesMapOneToOne() {
        let source = SourceText(file: "t.cfg", bytes: Array("memory = 512\n".utf8))
        let value = ConfigLexer.value(of: Token(kind: .number, range: 9..<12), in: source.bytes)
        #expect(value.text == "512")
        #expect(value.fileRange(1..<3, in: source) == 10..<12)
        #expect(value.fileRange(7..<9, in: source) == 12..<13, "ranges past the end clamp to the end")
    }

    @Test func transportsCompareWithoutCaseLikeTheOldLowercasing() {
        let names = ["mmio", "MMIO", "Mmio", "unknown", "UNKNOWN", "pci", "", "mmio ", "un\u{212A}nown", "MMİO"]
        for name in names {
            let bytes = Array(name.utf8)
            #expect(VirtioTransport(caseInsensitive: bytes[...]) == VirtioTransport(rawValue: name.lowercased()), "\(name)")
        }
    }

    /// The quoted-string scan stops where a byte-by-byte search for the
    /// quote, a newline, a backslash or a NUL stops, for both quotes and
    /// every byte value.
    @Test func plainRunsEndAtTheFirstByteAStringMustLookAt() {
        var generator = SplitMix64(seed: 0x5eed_0103)
        let common = Array("ab/=, 'x\"\\\n\u{0}\u{7f}9@".utf8)
        for round in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...30, using: &generator)).map { _ in
                round % 2 == 0 ? UInt8.random(in: 0...255, using: &generator) : common.randomElement(using: &generator) ?? 0
            }
            let start = Int.random(in: 0...bytes.count, using: &generator)
            for quote in [Ascii.singleQuote, Ascii.doubleQuote] {
                let stops: Set<UInt8> = [quote, Ascii.newline, Ascii.backslash, 0]
                let expected = bytes[start...].firstIndex { stops.contains($0) } ?? bytes.count
                #expect(ConfigLexer.plainRunEnd(bytes, from: start, quote: quote) == expected, "\(bytes) from \(start)")
            }
        }
    }

    /// The word-at-a-time printable test agrees with a byte loop, on lines
    /// long enough to use whole words and a tail.
    @Test func nonPrintableBytesAreFoundWordByWord() {
        var generator = SplitMix64(seed: 0x5eed_0104)
        for round in 0..<3000 {
            var bytes = Array(repeating: UInt8(ascii: "a"), count: Int.random(in: 0...40, using: &generator))
            for _ in 0..<(round % 3) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            let expected = bytes.contains { $0 < 0x20 || $0 > 0x7e }
            #expect(bytes.withUnsafeBufferPointer(SourceText.hasNonPrintable) == expected, "\(bytes)")
        }
    }

    /// Virtio fields keep bytes and make their text on demand: the text is
    /// what the spec wrote, the glued type joins its two tokens, and
    /// invalid UTF-8 is repaired as before.
    @Test func virtioFieldsGiveTheTextTheyWereWrittenWith() {
        let spec = VirtioSpec.parse(Array("backend=dom\u{e9}, type=virtio,device22, transport=MMIO, grant_usage=0x1".utf8))
        #expect(spec.backend?.value == "dom\u{e9}")
        #expect(spec.type?.value == "virtio,device22")
        #expect(spec.glued?.value == "device22")
        #expect(spec.transport?.value == "MMIO")
        #expect(spec.knownTransport == .mmio)
        #expect(spec.grantUsage?.value == "0x1")
        let broken = VirtioSpec.parse(Array("backend=".utf8) + [0xff, 0x31])
        #expect(broken.backend?.value == "\u{fffd}1")
        #expect(broken.backend?.range == 8..<10)
    }

    /// The keys suggested for typos (`VirtioSpec.keys`) are the keys the
    /// parser reads: the two lists are written apart, so a key added to
    /// one and not the other fails here.
    @Test func everySuggestedVirtioKeyIsRead() {
        for key in VirtioSpec.keys {
            let spec = VirtioSpec.parse(Array("\(key)=x".utf8))
            #expect(spec.unknownTokens.isEmpty, "`\(key)=` is suggested but not read")
        }
        #expect(!VirtioSpec.parse(Array("nokey=x".utf8)).unknownTokens.isEmpty)
    }

    /// Every `=` or `+=` of a key is overridden by the nearest later `=` of
    /// that key: the parser's key chains give what a plain search gives.
    @Test func overridesMatchANearestLaterAssignmentSearch() {
        var generator = SplitMix64(seed: 0x5eed_0102)
        for _ in 0..<500 {
            let lines = (0..<Int.random(in: 1...12, using: &generator)).map { _ in
                (key: ["extra", "root", "cmdline"].randomElement(using: &generator) ?? "extra", append: Bool.random(using: &generator))
            }
            let text = lines.map { "\($0.key) \($0.append ? "+=" : "=") \"v\"\n" }.joined()
            var expected: [Int] = []
            for (index, line) in lines.enumerated() {
                if let later = lines[(index + 1)...].firstIndex(where: { $0.key == line.key && !$0.append }) {
                    expected.append(later + 1)
                }
            }
            let found = read(text).diagnostics.filter { $0.rule == XLRules.overridden.id }
            #expect(found.map { overridingLine($0.message) } == expected, "\(text)")
        }
    }

    /// The line number in "`KEY` is set again on line N; ...".
    private func overridingLine(_ message: String) -> Int {
        let after = message.split(separator: "line ").last ?? ""
        return Int(after.prefix { $0.isNumber }) ?? 0
    }
}
