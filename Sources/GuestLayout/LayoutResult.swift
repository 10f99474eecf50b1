import DeviceTree
import Diagnostics
import XLConfig

/// The outcome of laying out a guest: the tree libxl would boot it with,
/// or nil when libxl (or the domain builder, or Xen) would refuse it.
public struct LayoutResult: Sendable {
    /// The finalised tree, labelled (`gic`, `xen_iommu`) for DTS output;
    /// nil exactly when `diagnostics` holds an error.
    public var tree: DeviceTree?
    public var diagnostics: [Diagnostic]
    /// What libxl and the domain builder decided; nil when `tree` is nil.
    public var summary: LayoutSummary?

    public init(tree: DeviceTree?, diagnostics: [Diagnostic], summary: LayoutSummary?) {
        self.tree = tree
        self.diagnostics = diagnostics
        self.summary = summary
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// The decisions behind a tree, for reports and tests.
public struct LayoutSummary: Hashable, Sendable {
    public var xenVersion: XenVersion
    public var arch: GuestArch
    public var gic: HostGIC
    public var vcpus: Int
    /// Virtio-mmio devices in libxl's order, with base and SPI.
    public var devices: [PlacedDevice]
    /// The SPIs the guest needs, and what Xen is given (`nr_spis`).
    public var spisNeeded: UInt32
    public var nrSpis: UInt32
    public var memory: BootMemory
    /// `totalsize` of the blob libxl builds before finalisation: the DTB
    /// size the domain builder places (see PLACEMENT.md).
    public var deviceTreeSize: Int
    public var extendedRegions: [AddressRange]
}
