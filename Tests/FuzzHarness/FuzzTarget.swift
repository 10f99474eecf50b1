/// One fuzz target: what grantdt does with an untrusted input of one kind,
/// and the properties that must hold for every input.
///
/// `check` returns the violated properties, in words; an empty list means
/// the input was handled correctly (accepted, or refused with a proper
/// error). A trap inside `check` is a crash of grantdt itself. The libFuzzer
/// executables in `Fuzz/` turn a non-empty list into a crash report, and
/// `FuzzRegressionTests` replays every committed corpus file through the
/// same function.
public struct FuzzTarget: Sendable {
    /// The name used for the corpus directory (`Fuzz/corpus/NAME`) and the
    /// executable (`fuzz-NAME`).
    public let name: String
    public let check: @Sendable ([UInt8]) -> [String]

    public init(name: String, check: @escaping @Sendable ([UInt8]) -> [String]) {
        self.name = name
        self.check = check
    }

    /// Every target, by corpus name.
    public static let all: [FuzzTarget] = [.deviceTreeBlob, .partialDeviceTree]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
