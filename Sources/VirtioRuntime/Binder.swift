import DeviceTree

/// Whether Linux creates the device, and with which DMA ops.
public enum DeviceState: Hashable, Sendable {
    /// The node or an ancestor has a `status` other than okay: no device.
    case disabled
    case enabled(DMABinding)

    /// `"okay"` or `"disabled"`, as `inspect --json` writes it.
    public var status: String {
        if case .enabled = self { "okay" } else { "disabled" }
    }

    /// The binding of an enabled device.
    public var dma: DMABinding? {
        if case .enabled(let binding) = self { binding } else { nil }
    }
}

/// One `virtio,mmio` node: where it sits, its interrupt and its DMA ops.
public struct DeviceBinding: Hashable, Sendable {
    public let path: String
    public let state: DeviceState
    /// The first `reg` entry as a CPU-physical range, nil when it cannot
    /// be read or translated.
    public let reg: AddressRange?
    /// The GIC interrupt ID of its first interrupt when that is an SPI
    /// (the first libxl virtio device has 33), else nil.
    public let spi: UInt32?
    /// The static range of the bounce pool; nil unless the binding is
    /// `bounce` and the pool has a `reg`.
    public let poolRange: AddressRange?
}

/// Binds every `virtio,mmio` node of a tree (ours, libxl's or
/// hand-written) to the DMA ops Linux gives it (grant-dma.md §4), and
/// PCI requester IDs through host bridges' `iommu-map` (§3.2).
///
/// The decision per enabled node:
/// 1. the first `iommus` entry points at `xen,grant-dma` with one
///    argument: **grant** to that backend domid (grants win over a pool);
/// 2. it points at another available IOMMU: **iommu** (no grant ops);
/// 3. otherwise the device is not behind an IOMMU (Xen's stub driver for
///    `xen,grant-dma` refuses every device), and the first available
///    `restricted-dma-pool` in `memory-region`, if Linux can set it up,
///    gives **bounce**;
/// 4. else **direct**.
///
/// All work happens once, in `init`, in time linear in the tree.
public struct Binder: Sendable {
    let tree: TreeIndex
    let analyses: [DeviceAnalysis]

    /// Every `virtio,mmio` node, in tree order.
    public var devices: [DeviceBinding] { analyses.map(\.binding) }

    /// Every enabled PCI host bridge, in tree order.
    public let pciBridges: [PCIBridge]

    /// Indexes `tree` and binds every `virtio,mmio` node and host bridge.
    public init(tree: DeviceTree) {
        let index = TreeIndex(tree)
        var interrupts = InterruptResolver(index)
        var analyses: [DeviceAnalysis] = []
        var bridges: [Int] = []
        for node in 0..<index.count {
            if index.isCompatible(node, DeviceAnalysis.compatible) {
                analyses.append(DeviceAnalysis(node, in: index, interrupts: &interrupts))
            }
            if index.available[node] && Self.isHostBridge(node, in: index) {
                bridges.append(node)
            }
        }
        self.tree = index
        self.analyses = analyses
        self.pciBridges = bridges.map { PCIBridge($0, in: index) }
    }

    /// Binds one requester ID through a host bridge's `iommu-map`.
    /// `bridge` (a node path) may be nil when the tree has one bridge.
    public func bind(rid: RequesterID, bridge path: String?) throws(RIDBindError) -> RIDBinding {
        let bridge: PCIBridge
        if let path {
            guard let match = pciBridges.first(where: { $0.path == path }) else {
                throw .unknownBridge(path: path, known: pciBridges.map(\.path))
            }
            bridge = match
        } else {
            guard let only = pciBridges.first else { throw .noBridge }
            guard pciBridges.count == 1 else { throw .ambiguous(pciBridges.map(\.path)) }
            bridge = only
        }
        let lookup = bridge.lookup(UInt32(rid.value))
        let dma: DMABinding
        if case .matched(let row, _, let output) = lookup {
            let target = bridge.map.rows[row].target.flatMap(tree.table.index(ofPath:))
            dma = PCIBridge.dma(target: target, output: output, in: tree)
        } else {
            dma = .direct
        }
        return RIDBinding(rid: rid, bridge: bridge.path, lookup: lookup, dma: dma)
    }

    /// A PCI host bridge: a generic ECAM/CAM host (what Xen's vPCI writes),
    /// or a `device_type = "pci"` node whose parent is not a PCI bus (a
    /// PCI-PCI bridge is).
    static func isHostBridge(_ node: Int, in tree: TreeIndex) -> Bool {
        let compatibles = tree.compatibles(node)
        if compatibles.contains("pci-host-ecam-generic") || compatibles.contains("pci-host-cam-generic") { return true }
        guard isPCI(node, in: tree) else { return false }
        return tree.parent(node).map { !isPCI($0, in: tree) } ?? true
    }

    private static func isPCI(_ node: Int, in tree: TreeIndex) -> Bool {
        tree.property(node, "device_type")?.string == "pci"
    }
}

/// Why `Binder.bind(rid:bridge:)` could not pick a bridge.
public enum RIDBindError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The tree has no enabled host bridge.
    case noBridge
    /// `path` is not one of the enabled host bridges `known`.
    case unknownBridge(path: String, known: [String])
    /// Several bridges and none chosen.
    case ambiguous([String])

    public var description: String {
        switch self {
        case .noBridge:
            "the tree has no enabled PCI host bridge (pci-host-ecam-generic or device_type \"pci\")"
        case .unknownBridge(let path, let known):
            "\(path) is not an enabled PCI host bridge of the tree"
                + (known.isEmpty ? " (it has none)" : "; bridges: \(known.joined(separator: ", "))")
        case .ambiguous(let paths):
            "the tree has \(paths.count) PCI host bridges; choose one with --bridge: \(paths.joined(separator: ", "))"
        }
    }
}

/// Everything the binder learnt about one `virtio,mmio` node; the tree
/// checks read the same facts, so binding and diagnostics never disagree.
struct DeviceAnalysis: Sendable {
    static let compatible = "virtio,mmio"

    let node: Int
    let enabled: Bool
    let reg: RegOutcome
    let interrupts: InterruptList
    let iommus: IOMMUList?
    let iommu: IOMMUOutcome
    let pool: PoolOutcome
    let binding: DeviceBinding

    init(_ node: Int, in tree: TreeIndex, interrupts resolver: inout InterruptResolver) {
        self.node = node
        enabled = tree.available[node]
        reg = AddressTranslation.firstReg(of: node, in: tree)
        interrupts = resolver.interrupts(of: node)
        iommus = IOMMUList.parse(node, in: tree)
        iommu = IOMMUOutcome.of(iommus, in: tree)
        pool = RestrictedPool.outcome(of: node, in: tree)

        var poolRange: AddressRange?
        let dma: DMABinding
        switch (iommu, pool) {
        case (.grant(let backend), _): dma = .grant(backend: backend)
        case (.otherIOMMU(let provider), _): dma = .iommu(path: tree.path(provider))
        case (.none, .usable(let pool, let range)), (.grantStub, .usable(let pool, let range)):
            dma = .bounce(pool: tree.path(pool))
            poolRange = range
        case (.none, _), (.grantStub, _): dma = .direct
        }
        binding = DeviceBinding(
            path: tree.path(node), state: enabled ? .enabled(dma) : .disabled, reg: reg.range,
            spi: interrupts.entries.first?.spi, poolRange: enabled ? poolRange : nil)
    }
}
