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
    private static let gicLabels = ["gic"]
    private static let iommuLabels = ["xen_iommu"]

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
        node.properties.append(Property("rng-seed", Constant.rngSeed))
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

    func psci() -> Node { Constant.psciNode }

    /// Before finalisation every bank has a node with a zero `reg`.
    func memory(_ bank: AddressRange) -> Node {
        Node(Self.unitName("memory", bank.base), properties: [
            Property("device_type", Constant.memory),
            Property("reg", Constant.zeroPair),
        ])
    }

    func gic() -> Node {
        let map = plan.template.memoryMap
        let (compatible, regions) = plan.gic == .v2
            ? (Constant.gicV2, (map.gicv2Distributor, map.gicv2CPUInterface))
            : (Constant.gicV3, (map.gicv3Distributor, map.gicv3Redistributor))
        let phandle = PropertyValue.u32(plan.template.phandles.gic)
        return Node(Self.unitName("interrupt-controller", regions.0.base), labels: Self.gicLabels, properties: [
            Property("compatible", compatible),
            Property("#interrupt-cells", .u32(3)),
            Property("#address-cells", .u32(0)),
            Property("interrupt-controller", .empty),
            Property("reg", .u64Pairs([(regions.0.base, regions.0.size), (regions.1.base, regions.1.size)])),
            Property("linux,phandle", phandle),
            Property("phandle", phandle),
        ])
    }

    func timer() -> Node {
        let ids = plan.template.interrupts
        let secure = Self.gicCells(ids.timerSecurePhysical, type: Self.levelLow)
        let physical = Self.gicCells(ids.timerPhysical, type: Self.levelLow)
        let virtual = Self.gicCells(ids.timerVirtual, type: Self.levelLow)
        var node = Node("timer", properties: [
            Property("compatible", plan.arch == .arm64 ? Constant.armv8Timer : Constant.armv7Timer),
            Property("interrupts", .cells([
                secure.0, secure.1, secure.2, physical.0, physical.1, physical.2, virtual.0, virtual.1, virtual.2,
            ])),
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
            Property("interrupts", Self.interrupt(plan.template.interrupts.eventChannel, type: Self.levelLow)),
            Property("interrupt-parent", interruptParent),
        ])
    }

    func vpl011() -> Node {
        let region = plan.template.memoryMap.vpl011
        return Node("sbsa-pl011", properties: [
            Property("compatible", .string("arm,sbsa-uart")),
            Property("reg", .u64Pair(region.base, region.size)),
            Property("interrupts", Self.interrupt(plan.template.interrupts.vpl011, type: Self.levelHigh)),
            Property("interrupt-parent", interruptParent),
            Property("current-speed", .u32(115_200)),
        ])
    }

    func optee() -> Node { Constant.opteeNode }

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
            Property("reg", .u64Pair(map.vpciECAM.base, map.vpciECAM.size)),
            Property("bus-range", .cells([bus.lowerBound, bus.upperBound])),
            Property("#address-cells", .u32(3)),
            Property("#size-cells", .u32(2)),
            Property("status", .string("okay")),
            Property("ranges", .cells(
                window(plan.template.vpci.memType, map.vpciMem) + window(plan.rules.vpciPrefetchType, map.vpciPrefetchMem))),
        ])
    }

    /// The node of `plan.devices[index]`, read in place: a `PlacedDevice`
    /// copy costs as much as a property.
    func virtio(_ index: Int) -> Node {
        let slot = plan.devices[index].slot
        var node = Node(Self.unitName("virtio", slot.base))
        node.properties.reserveCapacity(6)
        node.properties.append(Property("compatible", Constant.virtioMMIO))
        node.properties.append(Property("reg", .u64Pair(slot.base, plan.template.virtioMMIO.deviceSize)))
        node.properties.append(Property("interrupts", Self.interrupt(slot.spi, type: Self.edgeRising)))
        node.properties.append(Property("interrupt-parent", interruptParent))
        node.properties.append(Property("dma-coherent", .empty))
        if plan.devices[index].request.grants {
            node.properties.append(Property(
                "iommus", .cells([.phandle(plan.template.phandles.iommu), .number(plan.devices[index].request.backend)])))
        }
        switch plan.devices[index].request.type {
        case Self.i2cType?:
            node.children = Constant.i2cChildren
        case Self.gpioType?:
            node.children = Constant.gpioChildren
        default:
            break
        }
        return node
    }

    func iommu() -> Node {
        Node("xen_iommu", labels: Self.iommuLabels, properties: [
            Property("compatible", Constant.grantDMA),
            Property("#iommu-cells", .u32(1)),
            Property("phandle", .u32(plan.template.phandles.iommu)),
        ])
    }

    // MARK: Encodings

    /// `<is_ppi, id - 16 or 32, 0xf << 8 | type>`, the GIC binding's three cells.
    private static func gicCells(_ id: UInt32, type: UInt32) -> (UInt32, UInt32, UInt32) {
        let ppi = id < 32
        return (ppi ? 1 : 0, id - (ppi ? 16 : 32), 0xf << 8 | type)
    }

    /// `interrupts` with one interrupt: a literal array, which the
    /// inlinable `PropertyValue.cells` keeps off the heap.
    private static func interrupt(_ id: UInt32, type: UInt32) -> PropertyValue {
        let cells = gicCells(id, type: type)
        return .cells([cells.0, cells.1, cells.2])
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
                buffer[index] = hexDigit(UInt8(truncatingIfNeeded: address >> UInt64(shift) & 0xf))
            }
            return count
        }
    }

    /// The lower-case ASCII hex digit of `value` (0 to 15), computed: a
    /// table in a global costs a lazy-initialisation check per digit.
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    private static func split(_ value: UInt64) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: value >> 32), UInt32(truncatingIfNeeded: value))
    }
}

/// Values and nodes that are the same in every guest tree, built once per
/// process: each guest's copies share their storage.
private enum Constant {
    static let psciNode = Node("psci", properties: [
        Property("compatible", psciVersions),
        Property("method", hvc),
        Property("cpu_off", .u32(1)),
        Property("cpu_on", .u32(2)),
    ])
    static let opteeNode = Node("firmware", children: [
        Node("optee", properties: [
            Property("compatible", .string("linaro,optee-tz")),
            Property("method", hvc),
        ]),
    ])
    /// The child libxl gives a virtio-mmio node of an I2C adapter.
    static let i2cChildren = [Node("i2c", properties: [Property("compatible", .string(GuestNodes.i2cType))])]
    /// The child libxl gives a virtio-mmio node of a GPIO controller.
    static let gpioChildren = [Node("gpio", properties: [
        Property("compatible", .string(GuestNodes.gpioType)),
        Property("gpio-controller", .empty),
        Property("#gpio-cells", .u32(2)),
        Property("interrupt-controller", .empty),
        Property("#interrupt-cells", .u32(2)),
    ])]
    static let cpu = PropertyValue.string("cpu")
    static let armv8 = PropertyValue.string("arm,armv8")
    static let cortexA15 = PropertyValue.string("arm,cortex-a15")
    static let psci = PropertyValue.string("psci")
    static let psciVersions = PropertyValue.strings(["arm,psci-1.0", "arm,psci-0.2", "arm,psci"])
    static let hvc = PropertyValue.string("hvc")
    static let memory = PropertyValue.string("memory")
    /// `chosen`'s 128 bytes of `rng-seed` before finalisation.
    static let rngSeed = PropertyValue.bytes([UInt8](repeating: 0, count: 128))
    /// A memory node's `reg` before finalisation.
    static let zeroPair = PropertyValue.u64Pair(0, 0)
    static let gicV2 = PropertyValue.strings(["arm,cortex-a15-gic", "arm,cortex-a9-gic"])
    static let gicV3 = PropertyValue.strings(["arm,gic-v3"])
    static let armv8Timer = PropertyValue.string("arm,armv8-timer")
    static let armv7Timer = PropertyValue.string("arm,armv7-timer")
    static let virtioMMIO = PropertyValue.string("virtio,mmio")
    static let grantDMA = PropertyValue.string("xen,grant-dma")
}
