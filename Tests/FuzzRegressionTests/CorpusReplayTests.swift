import Foundation
import FuzzHarness
import Testing
import TestSupport

/// Every committed corpus file (seeds and fixed crashers) through its fuzz
/// target, without libFuzzer: what crashed once must stay fixed, and the
/// properties hold on every seed in plain `swift test` too.
@Suite struct CorpusReplayTests {
    static let corpus = "Fuzz/corpus"

    static func files(_ target: FuzzTarget) -> [String] {
        let directory = Paths.inPackage("\(corpus)/\(target.name)")
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted().map { directory + "/" + $0 }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func corpusHoldsTheProperties(name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let files = Self.files(target)
        #expect(!files.isEmpty, "no seeds in \(Self.corpus)/\(name)")
        for file in files {
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
            let violations = target.check(bytes)
            #expect(violations.isEmpty, "\(file): \(violations)")
        }
    }

    /// Every corpus directory belongs to a registered target (a target
    /// dropped from `FuzzTarget.all` would silently stop being replayed).
    @Test func everyCorpusHasATarget() throws {
        let directories = try FileManager.default.contentsOfDirectory(atPath: Paths.inPackage(Self.corpus))
        for directory in directories {
            #expect(FuzzTarget.named(directory) != nil, "Fuzz/corpus/\(directory) has no fuzz target")
        }
    }
}
