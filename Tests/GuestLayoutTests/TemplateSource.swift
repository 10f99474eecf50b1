import GuestLayout
import XLConfig

/// Renders a `Template` as the Swift source of `Template.builtin`, so the
/// compiled-in layout is generated from templates/libxl-arm.layout.
enum TemplateSource {
    static let generatedPath = "Sources/GuestLayout/BuiltinTemplate.swift"
    static let templatePath = "templates/libxl-arm.layout"

    static func render(_ template: Template) -> String {
        let map = template.memoryMap
        let versions = template.versions.map { rules in
            """
                        VersionRules(
                            since: XenVersion(major: \(rules.since.major), minor: \(rules.since.minor)), virtioDevices: \(rules.virtioDevices),
                            diskGrantUsage: \(rules.diskGrantUsage), iommuNode: .\(rules.iommuNode), nrSpis: .\(rules.nrSpis),
                            vpciPrefetchType: \(hex(rules.vpciPrefetchType)), extendedRegions: .\(rules.extendedRegions),
                            extendedRegionSlots: \(rules.extendedRegionSlots)),

            """
        }.joined()
        return """
            // Generated from \(templatePath); do not edit. To regenerate:
            //   GRANTDT_UPDATE_TEMPLATE=1 swift test --filter BuiltinTemplateTests
            import XLConfig

            extension Template {
                /// The layout of \(templatePath), compiled in.
                public static let builtin = Template(
                    name: "\(template.name)",
                    memoryMap: MemoryMap(
                        virtioMMIO: \(range(map.virtioMMIO)),
                        gicv2Distributor: \(range(map.gicv2Distributor)),
                        gicv2CPUInterface: \(range(map.gicv2CPUInterface)),
                        gicv3Distributor: \(range(map.gicv3Distributor)),
                        gicv3Redistributor: \(range(map.gicv3Redistributor)),
                        vpciECAM: \(range(map.vpciECAM)),
                        vpl011: \(range(map.vpl011)),
                        vpciMem: \(range(map.vpciMem)),
                        grantTable: \(range(map.grantTable)),
                        vpciPrefetchMem: \(range(map.vpciPrefetchMem)),
                        ramBanks: [
            \(map.ramBanks.map { "                \(range($0)),\n" }.joined())            ]),
                    virtioMMIO: VirtioMMIO(
                        deviceSize: \(hex(template.virtioMMIO.deviceSize)),
                        spis: \(template.virtioMMIO.spis.lowerBound)...\(template.virtioMMIO.spis.upperBound)),
                    interrupts: Interrupts(
                        timerSecurePhysical: \(template.interrupts.timerSecurePhysical), timerPhysical: \(template.interrupts.timerPhysical),
                        timerVirtual: \(template.interrupts.timerVirtual), eventChannel: \(template.interrupts.eventChannel),
                        vpl011: \(template.interrupts.vpl011)),
                    phandles: Phandles(gic: \(hex(template.phandles.gic)), iommu: \(hex(template.phandles.iommu))),
                    vpci: VPCI(
                        busRange: \(template.vpci.busRange.lowerBound)...\(template.vpci.busRange.upperBound),
                        memType: \(hex(template.vpci.memType))),
                    limits: Limits(
                        vcpusGICv2: \(template.limits.vcpusGICv2), vcpusGICv3: \(template.limits.vcpusGICv3),
                        fdtMaxSize: \(hex(template.limits.fdtMaxSize))),
                    boot: Boot(
                        arm32KernelOffset: \(hex(template.boot.arm32KernelOffset)),
                        kernelEndAlignment: \(hex(template.boot.kernelEndAlignment)),
                        moduleAlignment: \(hex(template.boot.moduleAlignment)),
                        preferredModuleOffset: \(hex(template.boot.preferredModuleOffset))),
                    extendedRegions: ExtendedRegions(
                        alignment: \(hex(template.extendedRegions.alignment)),
                        minimumSize: \(hex(template.extendedRegions.minimumSize))),
                    versions: [
            \(versions)        ])
            }

            """
    }

    private static func range(_ range: AddressRange) -> String {
        "AddressRange(base: \(hex(range.base)), size: \(hex(range.size)))"
    }

    private static func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
}
