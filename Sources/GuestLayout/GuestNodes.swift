import DeviceTree

/// The nodes of one guest's tree, with libxl's names, properties and
/// values. Copies of a `PropertyValue` share its bytes, and allocating
/// them costs more than the rest of a property: values every guest has
/// are encoded once per process (`Constant`), and `interrupt-parent`,
/// which most nodes repeat, once per guest.
struct GuestNodes {
    /// libxl's `VIRTIO_DEVICE_TYPE_*`.
    static let genericType = "virtio,device"
    static let i2cType = "virtio,device22"
    static let gpioType = "virtio,device29"
    /// How many of the root's children appear at most once (chosen, cpus,
    /// psci, gic, timer, hypervisor, vpl011, firmware, pcie, xen_iommu):
    /// with the memory, virtio and copied nodes, the root's capacity.
    static let singletons = 10
    private static let gicLabel = "gic"
    private static let iommuLabel = "xen_iommu"
    private static let rngSeedSize = 128

    private let plan: GuestPlan
    /// `"4.19"`: in `model`, `compatible` and the hypervisor's `compatible`.
    private let version: String
    private let interruptParent: PropertyValue

    init(_ plan: GuestPlan) {
        self.plan = plan
        version = "\(plan.version.major).\(plan.version.minor)"
        interruptParent = .phandle(plan.template.phandles.gic)
    }

    /// The root with its properties; `GuestTree.build` adds the children.
    func root() -> Node {
        Node("", properties: [
            Property("model", .string("XENVM-\(version)")),
            Property("compatible", .strings(["xen,xenvm-\(version)", "xen,xenvm"])),
            Property("interrupt-parent", interruptParent),
            Property("#address-cells", .u32(2)),
            Property("#size-cells", .u32(2)),
        ])
    }

    func chosen() -> Node {
        var node = Node("chosen")
        node.properties.reserveCapacity(4)
        if let bootargs = plan.bootargs { node.properties.append(Property("bootargs", .string(bootargs))) }
        if plan.hasRamdisk {
            node.properties.append(Property("linux,initrd-start", .u64(0)))
            node.properties.append(Property("linux,initrd-end", .u64(0)))
        }
        node.properties.append(Property("rng-seed", .bytes([UInt8](repeating: 0, count: Self.rngSeedSize))))
        return node
    }

    /// mpidr of vCPU `index`: 16 per AFF0, then AFF1 (`libxl__compute_mpdir`).
    private static func mpidr(_ index: Int) -> UInt32 { UInt32(index & 0xf) | UInt32((index >> 4) & 0xff) << 8 }

    func cpus() -> Node {
        let compatible = plan.arch == .arm64 ? Constant.armv8 : Constant.cortexA15
        let cpus = (0..<plan.vcpus).map { index in
            Node(Self.unitName("cpu", UInt64(Self.mpidr(index))), properties: [
                Property("device_type", Constant.cpu),
                Property("compatible", compatible),
                Property("enable-method", Constant.psci),
                Property("reg", .u32(Self.mpidr(index))),
            ])
        }
        return Node("cpus", properties: [Property("#address-cells", .u32(1)), Property("#size-cells", .u32(0))], children: cpus)
    }

    func psci() -> Node {
        Node("psci", properties: [
            Property("compatible", Constant.psciVersions),
            Property("method", Constant.hvc),
            Property("cpu_off", .u32(1)),
            Property("cpu_on", .u32(2)),
        ])
    }

    /// Before finalisation every bank has a node with a zero `reg`.
    func memory(_ bank: AddressRange) -> Node {
        Node(Self.unitName("memory", bank.base), properties: [
            Property("device_type", Constant.memory),
            Property("reg", .u64Pairs([(0, 0)])),
        ])
    }

    func gic() -> Node {
        let map = plan.template.memoryMap
        let (compatible, regions) = plan.gic == .v2
            ? (Constant.gicV2, [map.gicv2Distributor, map.gicv2CPUInterface])
            : (Constant.gicV3, [map.gicv3Distributor, map.gicv3Redistributor])
        let phandle = PropertyValue.u32(plan.template.phandles.gic)
        return Node(Self.unitName("interrupt-controller", regions[0].base), labels: [Self.gicLabel], properties: [
            Property("compatible", compatible),
            Property("#interrupt-cells", .u32(3)),
            Property("#address-cells", .u32(0)),
            Property("interrupt-controller", .empty),
            Property("reg", .u64Pairs(regions.map { ($0.base, $0.size) })),
            Property("linux,phandle", phandle),
            Property("phandle", phandle),
        ])
    }

    func timer() -> Node {
        let ids = plan.template.interrupts
        let cells = [ids.timerSecurePhysical, ids.timerPhysical, ids.timerVirtual].flatMap { Self.interrupt($0, type: Self.levelLow) }
        var node = Node("timer", properties: [
            Property("compatible", plan.arch == .arm64 ? Constant.armv8Timer : Constant.armv7Timer),
            Property("interrupts", .cells(cells)),
            Property("interrupt-parent", interruptParent),
        ])
        if let frequency = plan.timerFrequency, frequency != 0 { node.set("clock-frequency", .u32(frequency)) }
        return node
    }

    /// `reg` is a zeroed placeholder for the grant table and every
    /// extended-region slot.
    func hypervisor() -> Node {
        Node("hypervisor", properties: [
            Property("compatible", .strings(["xen,xen-\(version)", "xen,xen"])),
            Property("reg", .u64Pairs(repeating: (0, 0), count: plan.rules.extendedRegionSlots + 1)),
            Property("interrupts", .cells(Self.interrupt(plan.template.interrupts.eventChannel, type: Self.levelLow))),
            Property("interrupt-parent", interruptParent),
        ])
    }

    func vpl011() -> Node {
        let region = plan.template.memoryMap.vpl011
        return Node("sbsa-pl011", properties: [
            Property("compatible", .string("arm,sbsa-uart")),
            Property("reg", .u64Pairs([(region.base, region.size)])),
            Property("interrupts", .cells(Self.interrupt(plan.template.interrupts.vpl011, type: Self.levelHigh))),
            Property("interrupt-parent", interruptParent),
            Property("current-speed", .u32(115_200)),
        ])
    }

    func optee() -> Node {
        Node("firmware", children: [
            Node("optee", properties: [
                Property("compatible", .string("linaro,optee-tz")),
                Property("method", .string("hvc")),
            ]),
        ])
    }

    func vpciBridge() -> Node {
        let map = plan.template.memoryMap
        func window(_ type: UInt32, _ range: AddressRange) -> [UInt32] {
            let address = Self.split(range.base), size = Self.split(range.size)
            return [type, address.0, address.1, address.0, address.1, size.0, size.1]
        }
        let bus = plan.template.vpci.busRange
        return Node(Self.unitName("pcie", map.vpciECAM.base), properties: [
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

    func virtio(_ device: PlacedDevice) -> Node {
        let slot = device.slot
        var node = Node(Self.unitName("virtio", slot.base))
        node.properties.reserveCapacity(6)
        node.properties.append(Property("compatible", Constant.virtioMMIO))
        node.properties.append(Property("reg", .u64Pairs([(slot.base, plan.template.virtioMMIO.deviceSize)])))
        node.properties.append(Property("interrupts", .cells(Self.interrupt(slot.spi, type: Self.edgeRising))))
        node.properties.append(Property("interrupt-parent", interruptParent))
        node.properties.append(Property("dma-coherent", .empty))
        if device.request.grants {
            node.properties.append(Property(
                "iommus", .cells([.phandle(plan.template.phandles.iommu), .number(device.request.backend)])))
        }
        switch device.request.type {
        case Self.i2cType?:
            node.children = [Node("i2c", properties: [Property("compatible", .string(Self.i2cType))])]
        case Self.gpioType?:
            node.children = [Node("gpio", properties: [
                Property("compatible", .string(Self.gpioType)),
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

    func iommu() -> Node {
        Node("xen_iommu", labels: [Self.iommuLabel], properties: [
            Property("compatible", Constant.grantDMA),
            Property("#iommu-cells", .u32(1)),
            Property("phandle", .u32(plan.template.phandles.iommu)),
        ])
    }

    // MARK: Encodings

    /// `<is_ppi, id - 16 or 32, 0xf << 8 | type>`, the GIC binding's three cells.
    private static func interrupt(_ id: UInt32, type: UInt32) -> [UInt32] {
        let ppi = id < 32
        return [ppi ? 1 : 0, id - (ppi ? 16 : 32), 0xf << 8 | type]
    }

    private static let edgeRising: UInt32 = 1
    private static let levelHigh: UInt32 = 4
    private static let levelLow: UInt32 = 8

    /// `name@address`, the address in lower-case hex as libxl prints it
    /// (`%PRIx64`), written in one pass: `String(_:radix:)` and string
    /// interpolation cost more than the rest of a cpu node.
    private static func unitName(_ name: String, _ address: UInt64) -> String {
        let digits = max(1, (UInt64.bitWidth - address.leadingZeroBitCount + 3) / 4)
        let count = name.utf8.count + 1 + digits
        return String(unsafeUninitializedCapacity: count) { buffer in
            var index = buffer.initialize(fromContentsOf: name.utf8)
            buffer[index] = UInt8(ascii: "@")
            for shift in stride(from: 4 * (digits - 1), through: 0, by: -4) {
                index += 1
                buffer[index] = hexDigits[Int(truncatingIfNeeded: address >> UInt64(shift) & 0xf)]
            }
            return count
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func split(_ value: UInt64) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: value >> 32), UInt32(truncatingIfNeeded: value))
    }
}

/// Values every guest tree has, encoded once per process: each guest's
/// copies share their bytes.
private enum Constant {
    static let cpu = PropertyValue.string("cpu")
    static let armv8 = PropertyValue.string("arm,armv8")
    static let cortexA15 = PropertyValue.string("arm,cortex-a15")
    static let psci = PropertyValue.string("psci")
    static let psciVersions = PropertyValue.strings(["arm,psci-1.0", "arm,psci-0.2", "arm,psci"])
    static let hvc = PropertyValue.string("hvc")
    static let memory = PropertyValue.string("memory")
    static let gicV2 = PropertyValue.strings(["arm,cortex-a15-gic", "arm,cortex-a9-gic"])
    static let gicV3 = PropertyValue.strings(["arm,gic-v3"])
    static let armv8Timer = PropertyValue.string("arm,armv8-timer")
    static let armv7Timer = PropertyValue.string("arm,armv7-timer")
    static let virtioMMIO = PropertyValue.string("virtio,mmio")
    static let grantDMA = PropertyValue.string("xen,grant-dma")
}
