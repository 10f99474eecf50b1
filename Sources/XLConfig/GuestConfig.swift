import Diagnostics

/// A Xen version whose toolstack rules grantdt reproduces (4.17–4.22).
public struct XenVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public static let supported = (17...22).map { XenVersion(major: 4, minor: $0) }
    public static let `default` = XenVersion(major: 4, minor: 22)

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `X.Y`; nil unless it is one of `supported`.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        let version = XenVersion(major: major, minor: minor)
        guard Self.supported.contains(version) else { return nil }
        self = version
    }

    public var description: String { "\(major).\(minor)" }

    public static func < (lhs: XenVersion, rhs: XenVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}

/// An Arm guest as xl reads it from an xl.cfg file: only the keys that
/// shape the guest device tree, already converted as xl converts them,
/// each with the place it was written so later stages can point at it.
///
/// The front end (`XLConfig`) builds this and reports everything that is
/// wrong with the text; the layout stage (`GuestLayout`) turns it into the
/// tree libxl builds and reports what libxl would refuse at build time.
public struct GuestConfig: Sendable {
    /// The config file's path as given on the command line.
    public var file: String
    public var name: Located<String>?
    /// `type=`; absent means PVH, the Arm default.
    public var type: Located<GuestType>?
    /// `memory=` in MiB.
    public var memoryMiB: Located<UInt64>?
    /// `maxmem=` in MiB; when present it, not `memory`, sizes guest RAM.
    public var maxmemMiB: Located<UInt64>?
    /// `vcpus=` (values below 1 already raised to 1, as xl does).
    public var vcpus: Located<Int>?
    /// `maxvcpus=`: the number of `cpu@` nodes; defaults to `vcpus`.
    public var maxvcpus: Located<Int>?
    /// `kernel=`, `ramdisk=`, `device_tree=`: paths as written (xl resolves
    /// them against the current directory).
    public var kernel: Located<String>?
    public var ramdisk: Located<String>?
    public var deviceTree: Located<String>?
    /// `cmdline=`, `root=`, `extra=` as written; `bootargs` combines them.
    public var cmdline: Located<String>?
    public var root: Located<String>?
    public var extra: Located<String>?
    public var gicVersion: Located<GICVersion>?
    /// `vuart="sbsa_uart"` (true) or `"unknown"`/absent (false).
    public var vuart: Located<Bool>?
    public var tee: Located<TEE>?
    /// `nr_spis=` (4.19+).
    public var nrSpis: Located<Int>?
    /// `irqs=`: passthrough interrupt ids, decimal.
    public var irqs: [Located<UInt32>] = []
    /// `iomem=`: passthrough MMIO ranges in 4 KiB frames.
    public var iomem: [Located<IOMemRange>] = []
    /// `dtdev=`: host device-tree paths assigned to the guest.
    public var dtdev: [Located<String>] = []
    /// `pci=`: passthrough PCI devices (any entry adds the vPCI node).
    public var pci: [Located<String>] = []
    /// `disk=` entries with `specification=virtio`, in `disk=` order.
    /// Xen-specification disks get no tree node and are not listed.
    public var virtioDisks: [VirtioDisk] = []
    /// `virtio=` entries in config order, including those without a
    /// transport (they get no node and no SPI; the front end has warned).
    public var virtioDevices: [VirtioDevice] = []

    public init(file: String) { self.file = file }

    /// The kernel command line as libxl builds it: `cmdline` wins; else
    /// `root=<root> <extra>`, `root=<root>` or `<extra>`; nil for none.
    public var bootargs: String? {
        if let cmdline { return cmdline.value }
        switch (root?.value, extra?.value) {
        case let (root?, extra?): return "root=\(root) \(extra)"
        case let (root?, nil): return "root=\(root)"
        case let (nil, extra?): return extra
        case (nil, nil): return nil
        }
    }
}

/// `type=`, after xl's prefix matching (`p` means pv).
public enum GuestType: String, Sendable {
    case pvh, pv, hvm
}

/// `gic_version=`: `default` (or absent) means the host's GIC.
public enum GICVersion: String, Sendable {
    case v2, v3, hostDefault = "default"
}

/// `tee=`.
public enum TEE: String, Sendable {
    case none, optee, ffa
}

/// One `iomem=` entry: `START,NUM[@GFN]` in hexadecimal 4 KiB frame numbers.
public struct IOMemRange: Hashable, Sendable {
    public var firstMachineFrame: UInt64
    public var frameCount: UInt64
    /// Guest frame of the first page; defaults to `firstMachineFrame`.
    public var firstGuestFrame: UInt64

    public init(firstMachineFrame: UInt64, frameCount: UInt64, firstGuestFrame: UInt64? = nil) {
        self.firstMachineFrame = firstMachineFrame
        self.frameCount = frameCount
        self.firstGuestFrame = firstGuestFrame ?? firstMachineFrame
    }
}

/// The domain that runs a device's backend, after name resolution.
public struct Backend: Hashable, Sendable {
    /// Resolved domain id (0 for dom0).
    public var domid: UInt32
    /// The name as written when it was given by name, for messages.
    public var name: String?

    public init(domid: UInt32, name: String? = nil) {
        self.domid = domid
        self.name = name
    }

    public static let dom0 = Backend(domid: 0)
}

/// A `disk=` entry with `specification=virtio`.
public struct VirtioDisk: Sendable {
    /// The whole spec string entry in the config (for allocation errors).
    public var location: SourceLocation
    /// `backend=`, resolved; absent means dom0.
    public var backend: Located<Backend>?
    /// `grant_usage=1`/`=0` (4.19+); absent means the default (on iff backend ≠ 0).
    public var grantUsage: Located<Bool>?
    public var vdev: String
    public var target: String?

    public init(location: SourceLocation, backend: Located<Backend>? = nil, grantUsage: Located<Bool>? = nil, vdev: String, target: String? = nil) {
        self.location = location
        self.backend = backend
        self.grantUsage = grantUsage
        self.vdev = vdev
        self.target = target
    }

    /// Whether libxl gives this disk `iommus` (grant DMA).
    public var usesGrants: Bool { grantUsage?.value ?? ((backend?.value.domid ?? 0) != 0) }
}

/// A `virtio=` entry.
public struct VirtioDevice: Sendable {
    /// The whole spec string entry in the config.
    public var location: SourceLocation
    public var backend: Located<Backend>?
    /// `type=` after xl's one-comma gluing (`virtio,device22`); nil when absent.
    public var type: Located<String>?
    /// `transport=`: nil when absent (xl then creates no node and no SPI).
    public var transport: Located<VirtioTransport>?
    /// `grant_usage=` as xl reads it with `strtoul(v, NULL, 0)`: non-zero is on.
    public var grantUsage: Located<UInt64>?

    public init(location: SourceLocation, backend: Located<Backend>? = nil, type: Located<String>? = nil,
                transport: Located<VirtioTransport>? = nil, grantUsage: Located<UInt64>? = nil) {
        self.location = location
        self.backend = backend
        self.type = type
        self.transport = transport
        self.grantUsage = grantUsage
    }

    /// Whether libxl gives this device `iommus` (grant DMA).
    public var usesGrants: Bool { grantUsage.map { $0.value != 0 } ?? ((backend?.value.domid ?? 0) != 0) }

    /// Whether libxl allocates a base and an SPI and writes a node for it.
    public var hasMMIONode: Bool { transport?.value == .mmio }
}

/// `transport=` of a `virtio=` entry (case-insensitive in xl).
public enum VirtioTransport: String, Sendable, CaseIterable {
    case mmio, unknown
}
