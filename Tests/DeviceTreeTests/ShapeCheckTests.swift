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
}
