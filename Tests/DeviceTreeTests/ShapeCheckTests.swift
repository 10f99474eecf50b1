@testable import DeviceTree
import Testing
import TestSupport

/// A one-run string value (`.string`, `.strings`) is checked by counting
/// its NULs; the answer must be that of covering it with the general
/// `.strings(count:)` segment, for any bytes and any count.
@Suite struct ShapeCheckTests {
    @Test func stringRunsAnswerAsTheGeneralCheck() {
        var random = SplitMix64(seed: 5)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...8, using: &random)).map { _ in Bool.random(using: &random) ? 0 : UInt8(ascii: "a") }
            let count = Int.random(in: -1...5, using: &random)
            let run = PropertyValue(bytes: bytes, layout: .strings(count: count))
            let general = PropertyValue(bytes: bytes, shape: [.strings(count: count)])
            #expect(TreeRules.shapeProblem(run) == TreeRules.shapeProblem(general), "\(bytes), \(count) strings")
        }
    }

    /// The writer checks the shape only of values that need it: every value
    /// the typed constructors (and `+`) build without that mark must fit
    /// its shape; strings with a NUL inside, and callers' shapes, are marked.
    @Test func typedConstructorsBuildValuesThatFitTheirShape() {
        var random = SplitMix64(seed: 9)
        let word = { (random: inout SplitMix64) in UInt32.random(in: 0...UInt32.max, using: &random) }
        let long = { (random: inout SplitMix64) in UInt64.random(in: 0...UInt64.max, using: &random) }
        var values: [PropertyValue] = [.empty, .string(""), .strings([]), .bytes([])]
        for _ in 0..<200 {
            let count = Int.random(in: 0...6, using: &random)
            let cells = (0..<count).map { _ in word(&random) }
            let mixed = cells.map { Bool.random(using: &random) ? Cell.phandle($0) : Cell.number($0) }
            let pairs = (0..<count).map { _ in (long(&random), long(&random)) }
            let texts = (0..<count).map { _ in String(repeating: "a", count: Int.random(in: 0...3, using: &random)) }
            values += [
                .u32(word(&random)), .u64(long(&random)), .cells(cells), .cells(mixed), .phandle(word(&random)),
                .u64Pairs(pairs), .u64Pair(long(&random), long(&random)), .u64Pairs(repeating: (long(&random), 0), count: count),
                .strings(texts), .string(texts.joined()), .bytes(cells.map { UInt8(truncatingIfNeeded: $0) }),
            ]
        }
        for _ in 0..<300 {
            let left = values.randomElement(using: &random) ?? .empty, right = values.randomElement(using: &random) ?? .empty
            values.append(left + right)
        }
        for value in values where !value.needsShapeCheck {
            #expect(TreeRules.shapeProblem(value) == nil, "\(value.bytes) as \(value.shape ?? [])")
        }
        #expect(PropertyValue.string("a\0b").needsShapeCheck)
        #expect(PropertyValue.strings(["a", "b\0"]).needsShapeCheck)
        #expect((PropertyValue.u32(1) + .string("\0\0")).needsShapeCheck)
        #expect(PropertyValue(bytes: [0, 0, 0, 1], shape: [.cells(count: 1, phandles: [])]).needsShapeCheck)
    }
}
