import FuzzEntry
import FuzzHarness

// Built with -parse-as-library: libFuzzer's main calls these.

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntry.run(.partialDeviceTree, data, size)
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    FuzzEntry.mutateTree(data, size, maxSize, seed)
}
