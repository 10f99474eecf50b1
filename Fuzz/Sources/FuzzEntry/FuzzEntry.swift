import CLibFuzzer
import FuzzHarness
import Glibc

/// What the libFuzzer entry points of every target do.
public enum FuzzEntry {
    /// Runs `target` on libFuzzer's input. A violated property becomes a
    /// crash, so libFuzzer saves the input as `crash-…` and stops.
    public static func run(_ target: FuzzTarget, _ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        let violations = target.check(bytes)
        guard violations.isEmpty else {
            fatalError("fuzz target '\(target.name)': " + violations.joined(separator: "; "))
        }
        return 0
    }

    /// The structure-aware device-tree mutation (`TreeMutator`) in place.
    public static func mutateTree(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
        guard let data, maxSize > 0 else { return 0 }
        let input = Array(UnsafeBufferPointer(start: data, count: size))
        let output = TreeMutator.mutate(input, maxSize: maxSize, seed: seed, bytes: mutateBytes)
        let count = min(output.count, maxSize)
        output.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
        return count
    }

    /// libFuzzer's byte mutator on a Swift array.
    static func mutateBytes(_ bytes: inout [UInt8], _ maxSize: Int) {
        let capacity = max(maxSize, bytes.count, 1)
        var buffer = bytes + [UInt8](repeating: 0, count: capacity - bytes.count)
        // libFuzzer's mutators expect at least one byte to work on.
        let start = max(bytes.count, 1)
        let size = buffer.withUnsafeMutableBufferPointer { LLVMFuzzerMutate($0.baseAddress!, start, capacity) }
        bytes = Array(buffer[..<min(size, capacity)])
    }
}
