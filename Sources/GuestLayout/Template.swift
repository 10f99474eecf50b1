import Diagnostics
import XLConfig

/// The data a guest layout is made of: libxl's memory map, interrupt
/// numbers, phandles, limits, boot placement constants and the rules that
/// differ between Xen versions. The built-in one (`Template.builtin`) is
/// generated from `templates/libxl-arm.layout`; `TemplateParser` reads
/// another one at run time (`--template FILE`).
public struct Template: Hashable, Sendable {
    public var name: String
    public var memoryMap: MemoryMap
    public var virtioMMIO: VirtioMMIO
    public var interrupts: Interrupts
    public var phandles: Phandles
    public var vpci: VPCI
    public var limits: Limits
    public var boot: Boot
    public var extendedRegions: ExtendedRegions
    /// Version rules, ascending by `since`; each applies up to the next.
    public var versions: [VersionRules]

    public init(
        name: String, memoryMap: MemoryMap, virtioMMIO: VirtioMMIO, interrupts: Interrupts, phandles: Phandles,
        vpci: VPCI, limits: Limits, boot: Boot, extendedRegions: ExtendedRegions, versions: [VersionRules]
    ) {
        self.name = name
        self.memoryMap = memoryMap
        self.virtioMMIO = virtioMMIO
        self.interrupts = interrupts
        self.phandles = phandles
        self.vpci = vpci
        self.limits = limits
        self.boot = boot
        self.extendedRegions = extendedRegions
        self.versions = versions.sorted { $0.since < $1.since }
    }

    /// The rules of the latest section at or below `version`, or nil when
    /// the template starts above it.
    public func rules(for version: XenVersion) -> VersionRules? {
        versions.last { $0.since <= version }
    }

    /// GUEST-TEMPLATE-VERSION when no section covers `version`, else nil.
    /// `file` is the template's path when it was read from one, so a
    /// caller can check a `--template` once before laying out guests.
    public func versionFinding(for version: XenVersion, file: String?) -> Diagnostic? {
        guard rules(for: version) == nil else { return nil }
        return LayoutRules.templateVersion.about(file: file, "layout template '\(name)' has no rules for Xen \(version)")
    }

    /// Guest RAM can be no larger than all banks together (`GUEST_RAM_MAX`).
    public var maximumRAM: UInt64 {
        memoryMap.ramBanks.reduce(0) { $0 &+ $1.size }
    }
}

/// A guest-physical range `[base, base + size)`.
public struct AddressRange: Hashable, Sendable, CustomStringConvertible {
    public var base: UInt64
    public var size: UInt64

    public init(base: UInt64, size: UInt64) {
        self.base = base
        self.size = size
    }

    /// The first address past the range (may be 2^64, hence the wider type).
    public var end: UInt128 { UInt128(base) + UInt128(size) }

    public func overlaps(_ other: AddressRange) -> Bool {
        size > 0 && other.size > 0 && UInt128(base) < other.end && UInt128(other.base) < end
    }

    public var description: String { "\(hex(base))-\(hex(end - 1))" }
}

extension Template {
    /// Fixed regions of the guest-physical address space (`arch-arm.h`).
    public struct MemoryMap: Hashable, Sendable {
        public var virtioMMIO: AddressRange
        public var gicv2Distributor: AddressRange
        public var gicv2CPUInterface: AddressRange
        public var gicv3Distributor: AddressRange
        public var gicv3Redistributor: AddressRange
        public var vpciECAM: AddressRange
        public var vpl011: AddressRange
        public var vpciMem: AddressRange
        public var grantTable: AddressRange
        public var vpciPrefetchMem: AddressRange
        /// RAM banks in fill order; one `memory@` node each.
        public var ramBanks: [AddressRange]

        public init(
            virtioMMIO: AddressRange, gicv2Distributor: AddressRange, gicv2CPUInterface: AddressRange,
            gicv3Distributor: AddressRange, gicv3Redistributor: AddressRange, vpciECAM: AddressRange,
            vpl011: AddressRange, vpciMem: AddressRange, grantTable: AddressRange, vpciPrefetchMem: AddressRange,
            ramBanks: [AddressRange]
        ) {
            self.virtioMMIO = virtioMMIO
            self.gicv2Distributor = gicv2Distributor
            self.gicv2CPUInterface = gicv2CPUInterface
            self.gicv3Distributor = gicv3Distributor
            self.gicv3Redistributor = gicv3Redistributor
            self.vpciECAM = vpciECAM
            self.vpl011 = vpl011
            self.vpciMem = vpciMem
            self.grantTable = grantTable
            self.vpciPrefetchMem = vpciPrefetchMem
            self.ramBanks = ramBanks
        }
    }

    /// How virtio-mmio devices get a slice of the window and an SPI.
    public struct VirtioMMIO: Hashable, Sendable {
        public var deviceSize: UInt64
        public var spis: ClosedRange<UInt32>

        public init(deviceSize: UInt64, spis: ClosedRange<UInt32>) {
            self.deviceSize = deviceSize
            self.spis = spis
        }
    }

    /// Interrupt ids of the fixed devices.
    public struct Interrupts: Hashable, Sendable {
        public var timerSecurePhysical: UInt32
        public var timerPhysical: UInt32
        public var timerVirtual: UInt32
        public var eventChannel: UInt32
        public var vpl011: UInt32

        public init(timerSecurePhysical: UInt32, timerPhysical: UInt32, timerVirtual: UInt32, eventChannel: UInt32, vpl011: UInt32) {
            self.timerSecurePhysical = timerSecurePhysical
            self.timerPhysical = timerPhysical
            self.timerVirtual = timerVirtual
            self.eventChannel = eventChannel
            self.vpl011 = vpl011
        }
    }

    /// The two phandles libxl writes (`device_tree_defs.h`).
    public struct Phandles: Hashable, Sendable {
        public var gic: UInt32
        public var iommu: UInt32

        public init(gic: UInt32, iommu: UInt32) {
            self.gic = gic
            self.iommu = iommu
        }
    }

    /// The vPCI host bridge's fixed values (the prefetch type is per version).
    public struct VPCI: Hashable, Sendable {
        public var busRange: ClosedRange<UInt32>
        public var memType: UInt32

        public init(busRange: ClosedRange<UInt32>, memType: UInt32) {
            self.busRange = busRange
            self.memType = memType
        }
    }

    public struct Limits: Hashable, Sendable {
        public var vcpusGICv2: Int
        public var vcpusGICv3: Int
        /// Largest blob libxl builds (`FDT_MAX_SIZE`).
        public var fdtMaxSize: Int

        public init(vcpusGICv2: Int, vcpusGICv3: Int, fdtMaxSize: Int) {
            self.vcpusGICv2 = vcpusGICv2
            self.vcpusGICv3 = vcpusGICv3
            self.fdtMaxSize = fdtMaxSize
        }
    }

    /// The domain builder's placement constants (`xg_dom_arm.c`).
    public struct Boot: Hashable, Sendable {
        public var arm32KernelOffset: UInt64
        public var kernelEndAlignment: UInt64
        public var moduleAlignment: UInt64
        public var preferredModuleOffset: UInt64

        public init(arm32KernelOffset: UInt64, kernelEndAlignment: UInt64, moduleAlignment: UInt64, preferredModuleOffset: UInt64) {
            self.arm32KernelOffset = arm32KernelOffset
            self.kernelEndAlignment = kernelEndAlignment
            self.moduleAlignment = moduleAlignment
            self.preferredModuleOffset = preferredModuleOffset
        }
    }

    public struct ExtendedRegions: Hashable, Sendable {
        public var alignment: UInt64
        public var minimumSize: UInt64

        public init(alignment: UInt64, minimumSize: UInt64) {
            self.alignment = alignment
            self.minimumSize = minimumSize
        }
    }
}

/// What one range of Xen versions does differently.
public struct VersionRules: Hashable, Sendable {
    /// Where `xen_iommu` goes.
    public enum IOMMUNode: String, Hashable, Sendable, CaseIterable {
        /// 4.17: right before the first disk node that uses grants.
        case beforeFirstGrantedDisk = "before-first-granted-disk"
        /// 4.18+: once, after every virtio node.
        case afterVirtioDevices = "after-virtio-devices"
    }

    /// How a user `nr_spis=` combines with the SPIs the guest needs.
    public enum NrSpis: String, Hashable, Sendable, CaseIterable {
        /// No `nr_spis` key (4.17, 4.18).
        case ignored
        /// The larger of both (4.19, 4.20).
        case raiseToNeeded = "raise-to-needed"
        /// The user value, which must cover what is needed (4.21+).
        case mustCoverNeeded = "must-cover-needed"
    }

    /// How the `hypervisor` node's extended regions are found.
    public enum ExtendedRegionPolicy: String, Hashable, Sendable, CaseIterable {
        /// At most one region per RAM bank; `iomem` ignored (4.17–4.20).
        case perBank = "per-bank"
        /// `iomem` ranges cut holes; up to `extendedRegionSlots` (4.21+).
        case splitByIOMem = "split-by-iomem"
    }

    public var since: XenVersion
    /// Whether xl reads `virtio=` (4.18+).
    public var virtioDevices: Bool
    /// Whether a disk's `grant_usage=` counts (4.19+); before, a disk uses
    /// grants iff its backend is not dom0.
    public var diskGrantUsage: Bool
    public var iommuNode: IOMMUNode
    public var nrSpis: NrSpis
    public var vpciPrefetchType: UInt32
    public var extendedRegions: ExtendedRegionPolicy
    /// Most extended regions; the `hypervisor` `reg` placeholder has one more entry.
    public var extendedRegionSlots: Int

    public init(
        since: XenVersion, virtioDevices: Bool, diskGrantUsage: Bool, iommuNode: IOMMUNode, nrSpis: NrSpis,
        vpciPrefetchType: UInt32, extendedRegions: ExtendedRegionPolicy, extendedRegionSlots: Int
    ) {
        self.since = since
        self.virtioDevices = virtioDevices
        self.diskGrantUsage = diskGrantUsage
        self.iommuNode = iommuNode
        self.nrSpis = nrSpis
        self.vpciPrefetchType = vpciPrefetchType
        self.extendedRegions = extendedRegions
        self.extendedRegionSlots = extendedRegionSlots
    }
}

func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
