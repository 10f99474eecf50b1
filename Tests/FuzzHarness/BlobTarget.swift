import DeviceTree
import VirtioRuntime

extension FuzzTarget {
    /// `grantdt decompile` and `grantdt inspect` on an arbitrary blob: the
    /// hardened reader, then the DTS printer, the binder (every
    /// `virtio,mmio` node and PCI host bridge), a requester-ID lookup
    /// through each bridge, and the tree checks.
    ///
    /// Properties: a refused blob gets a one-line reason; an accepted tree's
    /// diagnostics are one-line; a tree the writer accepts reads back equal.
    public static let deviceTreeBlob = FuzzTarget(name: "dtb", input: .deviceTree) { bytes in
        let (read, refused) = Invariants.readBlob(bytes)
        guard let tree = read else { return refused }
        _ = DTSPrinter.print(tree)
        let binder = Binder(tree: tree)
        var violations = Invariants.diagnostics(TreeChecks.run(binder, file: "fuzz.dtb"))
        // The RID comes from the input so the lookup sees varied masks and rows.
        let rid = RequesterID(UInt16(truncatingIfNeeded: bytes.count &* 0x9e37))
        for bridge in binder.pciBridges {
            _ = try? binder.bind(rid: rid, bridge: bridge.path)
        }
        if let blob = try? DTBWriter.write(tree) {
            violations += Invariants.roundTrip(tree, blob: blob)
        }
        return violations
    }
}
