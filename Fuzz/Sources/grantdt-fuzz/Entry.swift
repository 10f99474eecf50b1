import CLibFuzzer
import FuzzHarness
import Glibc

// Built with -parse-as-library: libFuzzer's `main` calls the entry points
// below, for the target that FUZZ_TARGET names.

/// The target this process fuzzes, looked up once.
let selected: FuzzTarget = {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget.named(name) else {
        var message = "grantdt-fuzz: set FUZZ_TARGET to one of: \(FuzzTarget.all.map(\.name).joined(separator: ", "))\n"
        _ = message.withUTF8 { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        exit(2)
    }
    return target
}()

/// Checks FUZZ_TARGET before the first input: an exit during a run would
/// count as a crash.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    _ = selected
    return 0
}

/// Runs the target on one input. A violated property becomes a crash, so
/// libFuzzer saves the input as `crash-…` and stops.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let violations = selected.check(bytes)
    guard violations.isEmpty else {
        fatalError("fuzz target '\(selected.name)': " + violations.joined(separator: "; "))
    }
    return 0
}

/// Device trees get the structure-aware `TreeMutator`, other inputs
/// libFuzzer's own byte mutations. Mutates in place; returns the new size.
@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    guard let data, maxSize > 0 else { return 0 }
    guard selected.input == .deviceTree else { return LLVMFuzzerMutate(data, size, maxSize) }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let output = TreeMutator.mutate(input, maxSize: maxSize, seed: seed, bytes: mutateBytes)
    let count = min(output.count, maxSize)
    output.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    return count
}

/// libFuzzer's byte mutator on a Swift array, within `maxSize` bytes.
func mutateBytes(_ bytes: inout [UInt8], _ maxSize: Int) {
    let capacity = max(maxSize, bytes.count, 1)
    var buffer = bytes + [UInt8](repeating: 0, count: capacity - bytes.count)
    // libFuzzer's mutators expect at least one byte to work on.
    let size = buffer.withUnsafeMutableBufferPointer { LLVMFuzzerMutate($0.baseAddress!, max(bytes.count, 1), capacity) }
    bytes = Array(buffer[..<min(size, capacity)])
}
