/// One fuzz target: what grantdt does with an untrusted input of one kind,
/// and the properties that must hold for every input.
///
/// `check` returns the violated properties, in words; an empty list means
/// the input was handled correctly (accepted, or refused with a proper
/// error). A trap inside `check` is a crash of grantdt itself. The libFuzzer
/// executable in `Fuzz/` turns a non-empty list into a crash report, and
/// `FuzzRegressionTests` replays every committed corpus file through the
/// same function.
public struct FuzzTarget: Sendable {
    /// What the inputs are, which decides how libFuzzer mutates them.
    public enum Input: Sendable {
        /// Blobs: mostly `TreeMutator`'s structure-aware edits.
        case deviceTree
        /// Anything else: libFuzzer's byte mutations and the dictionary.
        case bytes
    }

    /// The name for `FUZZ_TARGET`, the corpus (`Fuzz/corpus/NAME`) and
    /// the dictionary (see Fuzz/run-fuzz.sh).
    public let name: String
    public let input: Input
    public let check: @Sendable ([UInt8]) -> [String]

    public init(name: String, input: Input, check: @escaping @Sendable ([UInt8]) -> [String]) {
        self.name = name
        self.input = input
        self.check = check
    }

    /// Every target, by corpus name.
    public static let all: [FuzzTarget] = [.deviceTreeBlob, .partialDeviceTree, .xlConfig]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
