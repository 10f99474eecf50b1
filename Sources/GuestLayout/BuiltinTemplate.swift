// Generated from templates/libxl-arm.layout; do not edit. To regenerate:
//   GRANTDT_UPDATE_TEMPLATE=1 swift test --filter BuiltinTemplateTests
import XLConfig

extension Template {
    /// The layout of templates/libxl-arm.layout, compiled in.
    public static let builtin = Template(
        name: "libxl-arm",
        memoryMap: MemoryMap(
            virtioMMIO: AddressRange(base: 0x2000000, size: 0x100000),
            gicv2Distributor: AddressRange(base: 0x3001000, size: 0x1000),
            gicv2CPUInterface: AddressRange(base: 0x3002000, size: 0x2000),
            gicv3Distributor: AddressRange(base: 0x3001000, size: 0x10000),
            gicv3Redistributor: AddressRange(base: 0x3020000, size: 0x1000000),
            vpciECAM: AddressRange(base: 0x10000000, size: 0x10000000),
            vpl011: AddressRange(base: 0x22000000, size: 0x1000),
            vpciMem: AddressRange(base: 0x23000000, size: 0x10000000),
            grantTable: AddressRange(base: 0x38000000, size: 0x1000000),
            vpciPrefetchMem: AddressRange(base: 0x100000000, size: 0x100000000),
            ramBanks: [
                AddressRange(base: 0x40000000, size: 0xc0000000),
                AddressRange(base: 0x200000000, size: 0xfe00000000),
            ]),
        virtioMMIO: VirtioMMIO(
            deviceSize: 0x200,
            spis: 33...43),
        interrupts: Interrupts(
            timerSecurePhysical: 29, timerPhysical: 30,
            timerVirtual: 27, eventChannel: 31,
            vpl011: 32),
        phandles: Phandles(gic: 0xfde8, iommu: 0xfde9),
        vpci: VPCI(
            busRange: 0...255,
            memType: 0x2000000),
        limits: Limits(
            vcpusGICv2: 8, vcpusGICv3: 128,
            fdtMaxSize: 0x100000),
        boot: Boot(
            arm32KernelOffset: 0x8000,
            kernelEndAlignment: 0x200000,
            moduleAlignment: 0x1000,
            preferredModuleOffset: 0x8000000),
        extendedRegions: ExtendedRegions(
            alignment: 0x200000,
            minimumSize: 0x4000000),
        versions: [
            VersionRules(
                since: XenVersion(major: 4, minor: 17), virtioDevices: false,
                diskGrantUsage: false, iommuNode: .beforeFirstGrantedDisk, nrSpis: .ignored,
                vpciPrefetchType: 0x42000000, extendedRegions: .perBank,
                extendedRegionSlots: 2),
            VersionRules(
                since: XenVersion(major: 4, minor: 18), virtioDevices: true,
                diskGrantUsage: false, iommuNode: .afterVirtioDevices, nrSpis: .ignored,
                vpciPrefetchType: 0x42000000, extendedRegions: .perBank,
                extendedRegionSlots: 2),
            VersionRules(
                since: XenVersion(major: 4, minor: 19), virtioDevices: true,
                diskGrantUsage: true, iommuNode: .afterVirtioDevices, nrSpis: .raiseToNeeded,
                vpciPrefetchType: 0x43000000, extendedRegions: .perBank,
                extendedRegionSlots: 2),
            VersionRules(
                since: XenVersion(major: 4, minor: 21), virtioDevices: true,
                diskGrantUsage: true, iommuNode: .afterVirtioDevices, nrSpis: .mustCoverNeeded,
                vpciPrefetchType: 0x43000000, extendedRegions: .splitByIOMem,
                extendedRegionSlots: 256),
        ])
}
