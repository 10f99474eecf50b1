import Diagnostics
import XLConfig

/// A virtio-mmio device as libxl visits it: every virtio disk in `disk=`
/// order, then every `virtio=` entry with `transport=mmio` in config order.
public struct VirtioRequest: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// The n-th virtio disk (0-based among virtio disks).
        case disk(Int)
        /// The n-th `virtio=` entry (0-based among all entries).
        case device(Int)
    }

    public var kind: Kind
    public var backend: UInt32
    /// Whether the node gets `iommus` (grant DMA), after the version's defaults.
    public var grants: Bool
    /// `type=` of a `virtio=` entry; nil for disks and for entries without one.
    public var type: String?
    /// The spec string in the config.
    public var location: SourceLocation

    public init(kind: Kind, backend: UInt32, grants: Bool, type: String?, location: SourceLocation) {
        self.kind = kind
        self.backend = backend
        self.grants = grants
        self.type = type
        self.location = location
    }

    /// The devices of `guest` that get a base and an SPI, in libxl's order,
    /// with grant use decided as `rules` say (disks follow `grant_usage`
    /// only from 4.19; `virtio=` exists only from 4.18).
    static func requests(for guest: GuestConfig, rules: VersionRules) -> [VirtioRequest] {
        var requests: [VirtioRequest] = []
        requests.reserveCapacity(guest.virtioDisks.count + (rules.virtioDevices ? guest.virtioDevices.count : 0))
        for (index, disk) in guest.virtioDisks.enumerated() {
            let backend = disk.backend?.value.domid ?? 0
            let grants = rules.diskGrantUsage ? disk.usesGrants : backend != 0
            requests.append(VirtioRequest(kind: .disk(index), backend: backend, grants: grants, type: nil, location: disk.location))
        }
        guard rules.virtioDevices else { return requests }
        for (index, device) in guest.virtioDevices.enumerated() where device.hasMMIONode {
            requests.append(VirtioRequest(
                kind: .device(index), backend: device.backend?.value.domid ?? 0, grants: device.usesGrants,
                type: device.type?.value, location: device.location))
        }
        return requests
    }
}

/// A device's slice of the virtio-mmio window and its SPI.
public struct VirtioSlot: Hashable, Sendable {
    public var base: UInt64
    public var spi: UInt32

    public init(base: UInt64, spi: UInt32) {
        self.base = base
        self.spi = spi
    }
}

/// A virtio-mmio device with its allocated base and SPI.
public struct PlacedDevice: Hashable, Sendable {
    public var request: VirtioRequest
    public var slot: VirtioSlot

    public init(request: VirtioRequest, slot: VirtioSlot) {
        self.request = request
        self.slot = slot
    }
}

/// libxl's allocator (`alloc_virtio_mmio_params`): bases from the window's
/// start in steps of the device size, SPIs from the first virtio SPI.
enum VirtioAllocator {
    enum Failure: Error, Hashable {
        /// Device `index` found no room left at `base` in the window.
        case window(index: Int, base: UInt64)
        /// Device `index` would need SPI `spi`, past the last one.
        case spis(index: Int, spi: UInt32)
    }

    /// Slots for the first `count` devices, or the first device that does
    /// not get one (libxl stops there; the base is checked first).
    static func allocate(count: Int, template: Template) -> Result<[VirtioSlot], Failure> {
        let window = template.memoryMap.virtioMMIO
        let size = template.virtioMMIO.deviceSize
        var base = UInt128(window.base)
        var spi = template.virtioMMIO.spis.lowerBound
        var slots: [VirtioSlot] = []
        slots.reserveCapacity(count)
        for index in 0..<count {
            guard base + UInt128(size) <= window.end else { return .failure(.window(index: index, base: UInt64(base))) }
            guard spi <= template.virtioMMIO.spis.upperBound else { return .failure(.spis(index: index, spi: spi)) }
            slots.append(VirtioSlot(base: UInt64(base), spi: spi))
            base += UInt128(size)
            spi += 1
        }
        return .success(slots)
    }
}

/// `nr_spis` and the passthrough-interrupt conflicts, as
/// `libxl__arch_domain_prepare_config` works them out.
struct SPIPlan: Hashable {
    /// An `irqs=` entry libxl refuses.
    enum Conflict: Hashable {
        case vuart(Located<UInt32>)
        case virtio(Located<UInt32>, range: ClosedRange<UInt32>)
    }

    /// SPIs the guest needs: up to the vuart's, the last virtio one and
    /// every passthrough SPI.
    var needed: UInt32
    /// What Xen gets: `needed`, or the user's `nr_spis` as the version says.
    var granted: UInt32
    var conflicts: [Conflict]
    /// Set when the user's `nr_spis` is below `needed` and the version refuses that.
    var tooSmall: Located<Int>?

    init(vuart: Bool, slots: [VirtioSlot], irqs: [Located<UInt32>], userNrSpis: Located<Int>?,
         policy: VersionRules.NrSpis, template: Template) {
        var needed: UInt32 = 0
        if vuart { needed = template.interrupts.vpl011 - 32 + 1 }
        let virtioRange = slots.last.map { template.virtioMMIO.spis.lowerBound...$0.spi }
        if let virtioRange { needed = max(needed, virtioRange.upperBound - 32 + 1) }
        var conflicts: [Conflict] = []
        for irq in irqs {
            if vuart && irq.value == template.interrupts.vpl011 {
                conflicts.append(.vuart(irq))
            } else if let virtioRange, virtioRange.contains(irq.value) {
                conflicts.append(.virtio(irq, range: virtioRange))
            }
            if irq.value >= 32 { needed = max(needed, irq.value - 32 + 1) }
        }
        self.needed = needed
        self.conflicts = conflicts
        self.tooSmall = nil
        switch (policy, userNrSpis) {
        case (.ignored, _), (_, nil):
            granted = needed
        case (.raiseToNeeded, let user?):
            granted = max(needed, UInt32(clamping: user.value))
        case (.mustCoverNeeded, let user?):
            granted = UInt32(clamping: user.value)
            if user.value < Int(needed) { tooSmall = user }
        }
    }
}
