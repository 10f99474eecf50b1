import DeviceTree
import XLConfig

/// Everything the guest tree depends on, resolved from the config, the
/// options, the template and the input files.
struct GuestPlan {
    var template: Template
    var rules: VersionRules
    var version: XenVersion
    var arch: GuestArch
    var gic: HostGIC
    var vcpus: Int
    var bootargs: String?
    var hasRamdisk: Bool
    var vuart: Bool
    var optee: Bool
    var vpci: Bool
    var timerFrequency: UInt32?
    var devices: [PlacedDevice]
    /// `/passthrough` then `/aliases` (when present) from the partial tree.
    var copiedNodes: [Node]

    var needsIOMMU: Bool { devices.contains { $0.request.grants } }
}

/// The values libxl patches in once RAM is laid out (`finalise`).
struct Finalisation {
    var initrd: AddressRange?
    var bankSizes: [UInt64]
    var extendedRegions: [AddressRange]
    var rngSeed: [UInt8]?
}

/// Builds the tree libxl writes, node by node in libxl's order
/// (`libxl__prepare_dtb`): placeholders, a 128-byte `rng-seed`, every
/// memory node. `finalise` then patches it into the tree the guest boots
/// with, as libxl patches its blob once RAM is laid out.
enum GuestTree {
    static let gicLabel = "gic"
    static let iommuLabel = "xen_iommu"
    /// libxl's `VIRTIO_DEVICE_TYPE_*`.
    static let genericType = "virtio,device"
    static let i2cType = "virtio,device22"
    static let gpioType = "virtio,device29"
    static let rngSeedSize = 128

    static func build(_ plan: GuestPlan) -> DeviceTree {
        let version = "\(plan.version.major).\(plan.version.minor)"
        var root = Node("", properties: [
            Property("model", .string("XENVM-\(version)")),
            Property("compatible", .strings(["xen,xenvm-\(version)", "xen,xenvm"])),
            Property("interrupt-parent", .phandle(plan.template.phandles.gic)),
            Property("#address-cells", .u32(2)),
            Property("#size-cells", .u32(2)),
        ])
        root.children = [chosen(plan), cpus(plan), psci()]
        root.children += memory(plan)
        root.children += [gic(plan), timer(plan), hypervisor(plan, version: version)]
        if plan.vuart { root.children.append(vpl011(plan)) }
        if plan.optee { root.children.append(optee()) }
        if plan.vpci { root.children.append(vpciBridge(plan)) }
        var iommuPlaced = false
        for device in plan.devices {
            if plan.rules.iommuNode == .beforeFirstGrantedDisk, device.request.grants, !iommuPlaced {
                root.children.append(iommu(plan))
                iommuPlaced = true
            }
            root.children.append(virtio(device, plan))
        }
        if plan.rules.iommuNode == .afterVirtioDevices, plan.needsIOMMU { root.children.append(iommu(plan)) }
        root.children += plan.copiedNodes
        return DeviceTree(root: root)
    }

    /// libxl's finalisation (`libxl__arch_domain_finalise_hw_description`)
    /// of a tree from `build`: the initrd, `rng-seed`, memory and
    /// `hypervisor` placeholders get their values; empty banks' memory
    /// nodes go (libxl NOPs them). Nothing else changes.
    static func finalise(_ tree: inout DeviceTree, _ plan: GuestPlan, _ final: Finalisation) {
        patch(&tree, "chosen") { chosen in
            if plan.hasRamdisk, let initrd = final.initrd {
                chosen.set("linux,initrd-start", .u64(initrd.base))
                chosen.set("linux,initrd-end", .u64(initrd.base + initrd.size))
            }
            // libxl always writes 128 random bytes; the final tree has the
            // seed the user asked for, if any (deterministic output by default).
            if let seed = final.rngSeed {
                chosen.set("rng-seed", .bytes(seed))
            } else {
                chosen.properties.removeAll { $0.name == "rng-seed" }
            }
        }
        for (index, bank) in plan.template.memoryMap.ramBanks.enumerated() {
            let name = memoryNodeName(bank), size = index < final.bankSizes.count ? final.bankSizes[index] : 0
            if size == 0 {
                tree.root.children.removeAll { $0.name == name }
            } else {
                patch(&tree, name) { $0.set("reg", .u64Pairs([(bank.base, size)])) }
            }
        }
        let regions = [plan.template.memoryMap.grantTable] + final.extendedRegions
        patch(&tree, "hypervisor") { $0.set("reg", .u64Pairs(regions.map { ($0.base, $0.size) })) }
    }

    /// Changes the root's child named `name` in place.
    private static func patch(_ tree: inout DeviceTree, _ name: String, _ change: (inout Node) -> Void) {
        guard let index = tree.root.children.firstIndex(where: { $0.name == name }) else { return }
        change(&tree.root.children[index])
    }

    /// `<is_ppi, id - 16 or 32, 0xf << 8 | type>`, the GIC binding's three cells.
    static func interrupt(_ id: UInt32, type: UInt32) -> [UInt32] {
        let ppi = id < 32
        return [ppi ? 1 : 0, id - (ppi ? 16 : 32), 0xf << 8 | type]
    }

    static let edgeRising: UInt32 = 1
    static let levelHigh: UInt32 = 4
    static let levelLow: UInt32 = 8

    private static func interruptProperties(_ cells: [UInt32], _ plan: GuestPlan) -> [Property] {
        [Property("interrupts", .cells(cells)), Property("interrupt-parent", .phandle(plan.template.phandles.gic))]
    }

    private static func unitName(_ name: String, _ address: UInt64) -> String { "\(name)@\(String(address, radix: 16))" }

    private static func chosen(_ plan: GuestPlan) -> Node {
        var node = Node("chosen")
        if let bootargs = plan.bootargs { node.set("bootargs", .string(bootargs)) }
        if plan.hasRamdisk {
            node.set("linux,initrd-start", .u64(0))
            node.set("linux,initrd-end", .u64(0))
        }
        node.set("rng-seed", .bytes([UInt8](repeating: 0, count: rngSeedSize)))
        return node
    }

    /// mpidr of vCPU `index`: 16 per AFF0, then AFF1 (`libxl__compute_mpdir`).
    static func mpidr(_ index: Int) -> UInt32 { UInt32(index & 0xf) | UInt32((index >> 4) & 0xff) << 8 }

    private static func cpus(_ plan: GuestPlan) -> Node {
        let compatible = plan.arch == .arm64 ? "arm,armv8" : "arm,cortex-a15"
        let cpus = (0..<plan.vcpus).map { index in
            Node(unitName("cpu", UInt64(mpidr(index))), properties: [
                Property("device_type", .string("cpu")),
                Property("compatible", .string(compatible)),
                Property("enable-method", .string("psci")),
                Property("reg", .u32(mpidr(index))),
            ])
        }
        return Node("cpus", properties: [Property("#address-cells", .u32(1)), Property("#size-cells", .u32(0))], children: cpus)
    }

    private static func psci() -> Node {
        Node("psci", properties: [
            Property("compatible", .strings(["arm,psci-1.0", "arm,psci-0.2", "arm,psci"])),
            Property("method", .string("hvc")),
            Property("cpu_off", .u32(1)),
            Property("cpu_on", .u32(2)),
        ])
    }

    /// Before finalisation every bank has a node with a zero `reg`.
    private static func memory(_ plan: GuestPlan) -> [Node] {
        plan.template.memoryMap.ramBanks.map { bank in
            Node(memoryNodeName(bank), properties: [
                Property("device_type", .string("memory")),
                Property("reg", .u64Pairs([(0, 0)])),
            ])
        }
    }

    private static func memoryNodeName(_ bank: AddressRange) -> String { unitName("memory", bank.base) }

    private static func gic(_ plan: GuestPlan) -> Node {
        let map = plan.template.memoryMap
        let (compatible, regions) = plan.gic == .v2
            ? (["arm,cortex-a15-gic", "arm,cortex-a9-gic"], [map.gicv2Distributor, map.gicv2CPUInterface])
            : (["arm,gic-v3"], [map.gicv3Distributor, map.gicv3Redistributor])
        let phandle = plan.template.phandles.gic
        return Node(unitName("interrupt-controller", regions[0].base), labels: [gicLabel], properties: [
            Property("compatible", .strings(compatible)),
            Property("#interrupt-cells", .u32(3)),
            Property("#address-cells", .u32(0)),
            Property("interrupt-controller", .empty),
            Property("reg", .u64Pairs(regions.map { ($0.base, $0.size) })),
            Property("linux,phandle", .u32(phandle)),
            Property("phandle", .u32(phandle)),
        ])
    }

    private static func timer(_ plan: GuestPlan) -> Node {
        let ids = plan.template.interrupts
        let cells = [ids.timerSecurePhysical, ids.timerPhysical, ids.timerVirtual].flatMap { interrupt($0, type: levelLow) }
        var node = Node("timer", properties: [
            Property("compatible", .string(plan.arch == .arm64 ? "arm,armv8-timer" : "arm,armv7-timer")),
        ] + interruptProperties(cells, plan))
        if let frequency = plan.timerFrequency, frequency != 0 { node.set("clock-frequency", .u32(frequency)) }
        return node
    }

    /// `reg` is a zeroed placeholder for the grant table and every
    /// extended-region slot.
    private static func hypervisor(_ plan: GuestPlan, version: String) -> Node {
        let placeholder = Array(repeating: (UInt64(0), UInt64(0)), count: plan.rules.extendedRegionSlots + 1)
        return Node("hypervisor", properties: [
            Property("compatible", .strings(["xen,xen-\(version)", "xen,xen"])),
            Property("reg", .u64Pairs(placeholder)),
        ] + interruptProperties(interrupt(plan.template.interrupts.eventChannel, type: levelLow), plan))
    }

    private static func vpl011(_ plan: GuestPlan) -> Node {
        let region = plan.template.memoryMap.vpl011
        return Node("sbsa-pl011", properties: [
            Property("compatible", .string("arm,sbsa-uart")),
            Property("reg", .u64Pairs([(region.base, region.size)])),
        ] + interruptProperties(interrupt(plan.template.interrupts.vpl011, type: levelHigh), plan) + [
            Property("current-speed", .u32(115_200)),
        ])
    }

    private static func optee() -> Node {
        Node("firmware", children: [
            Node("optee", properties: [
                Property("compatible", .string("linaro,optee-tz")),
                Property("method", .string("hvc")),
            ]),
        ])
    }

    private static func vpciBridge(_ plan: GuestPlan) -> Node {
        let map = plan.template.memoryMap
        func window(_ type: UInt32, _ range: AddressRange) -> [UInt32] {
            let address = split(range.base), size = split(range.size)
            return [type, address.0, address.1, address.0, address.1, size.0, size.1]
        }
        let bus = plan.template.vpci.busRange
        return Node(unitName("pcie", map.vpciECAM.base), properties: [
            Property("compatible", .string("pci-host-ecam-generic")),
            Property("device_type", .string("pci")),
            Property("reg", .u64Pairs([(map.vpciECAM.base, map.vpciECAM.size)])),
            Property("bus-range", .cells([bus.lowerBound, bus.upperBound])),
            Property("#address-cells", .u32(3)),
            Property("#size-cells", .u32(2)),
            Property("status", .string("okay")),
            Property("ranges", .cells(
                window(plan.template.vpci.memType, map.vpciMem) + window(plan.rules.vpciPrefetchType, map.vpciPrefetchMem))),
        ])
    }

    private static func split(_ value: UInt64) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: value >> 32), UInt32(truncatingIfNeeded: value))
    }

    private static func virtio(_ device: PlacedDevice, _ plan: GuestPlan) -> Node {
        let slot = device.slot
        var node = Node(unitName("virtio", slot.base), properties: [
            Property("compatible", .string("virtio,mmio")),
            Property("reg", .u64Pairs([(slot.base, plan.template.virtioMMIO.deviceSize)])),
        ] + interruptProperties(interrupt(slot.spi, type: edgeRising), plan) + [
            Property("dma-coherent", .empty),
        ])
        if device.request.grants {
            node.set("iommus", .cells([.phandle(plan.template.phandles.iommu), .number(device.request.backend)]))
        }
        switch device.request.type {
        case i2cType?:
            node.children = [Node("i2c", properties: [Property("compatible", .string(i2cType))])]
        case gpioType?:
            node.children = [Node("gpio", properties: [
                Property("compatible", .string(gpioType)),
                Property("gpio-controller", .empty),
                Property("#gpio-cells", .u32(2)),
                Property("interrupt-controller", .empty),
                Property("#interrupt-cells", .u32(2)),
            ])]
        default:
            break
        }
        return node
    }

    private static func iommu(_ plan: GuestPlan) -> Node {
        Node("xen_iommu", labels: [iommuLabel], properties: [
            Property("compatible", .string("xen,grant-dma")),
            Property("#iommu-cells", .u32(1)),
            Property("phandle", .u32(plan.template.phandles.iommu)),
        ])
    }
}
