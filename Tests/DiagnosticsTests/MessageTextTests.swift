import Diagnostics
import Testing

/// `MessageText`: parts, numbers and runs land in order, byte for byte.
@Suite struct MessageTextTests {
    @Test func appendsPartsNumbersAndRuns() {
        var text = MessageText(capacity: 4)
        text += "näive "
        #expect(text.append(-42) == 3)
        text += " "
        #expect(text.append(UInt64.max) == 20)
        text.repeat("~", 3)
        text.repeat("x", 0)
        text.repeat("x", -2)
        text += ""
        #expect(text.string == "näive -42 18446744073709551615~~~")
    }

    /// Agrees with plain concatenation on mixed parts, including ones that
    /// are not stored as native UTF-8 (a substring turned into a string).
    @Test func matchesConcatenation() {
        let parts = ["a", "", "é€😀", String("xyz-line".dropFirst(2)), "\u{7}\n"]
        var text = MessageText()
        for part in parts { text += part }
        #expect(text.string == parts.joined())
    }
}
