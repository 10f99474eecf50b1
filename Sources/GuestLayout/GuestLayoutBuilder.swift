import DeviceTree
import Diagnostics
import XLConfig

/// The layout stage of `grantdt compile`: what libxl and the domain
/// builder do with a parsed guest. Checks what they would refuse, builds
/// the tree with libxl's node order and values, lays out RAM and boot
/// modules, and finalises the tree as libxl does once RAM is known.
public enum GuestLayoutBuilder {
    /// Reads the files the config names (relative paths against the
    /// current directory, as xl does), then lays out the guest.
    public static func compile(_ guest: GuestConfig, options: LayoutOptions, template: Template = .builtin) -> LayoutResult {
        let (inputs, diagnostics) = GuestInputs.read(for: guest, options: options, template: template)
        guard let inputs else { return LayoutResult(tree: nil, diagnostics: diagnostics, summary: nil) }
        var result = build(guest, inputs: inputs, options: options, template: template)
        result.diagnostics = diagnostics + result.diagnostics
        return result
    }

    /// Lays out a guest whose files have been read (or described).
    public static func build(
        _ guest: GuestConfig, inputs: GuestInputs, options: LayoutOptions, template: Template = .builtin
    ) -> LayoutResult {
        var stage = Stage(guest: guest, inputs: inputs, options: options, template: template)
        let outcome = stage.run()
        return LayoutResult(tree: outcome?.tree, diagnostics: stage.diagnostics, summary: outcome?.summary)
    }
}

/// One layout run: the checks in libxl's order, then the tree.
private struct Stage {
    let guest: GuestConfig
    let inputs: GuestInputs
    let options: LayoutOptions
    let template: Template
    var diagnostics: [Diagnostic] = []

    init(guest: GuestConfig, inputs: GuestInputs, options: LayoutOptions, template: Template) {
        self.guest = guest
        self.inputs = inputs
        self.options = options
        self.template = template
    }

    private var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// A finding at a config value, or about the config file when the
    /// value was not written (a default).
    private mutating func report(_ rule: Rule, _ location: SourceLocation?, _ message: String, hint: String? = nil) {
        diagnostics.append(location.map { rule.at($0, message, hint: hint) } ?? rule.about(file: guest.file, message, hint: hint))
    }

    mutating func run() -> (tree: DeviceTree, summary: LayoutSummary)? {
        guard let rules = template.rules(for: options.xenVersion) else {
            diagnostics += [template.versionFinding(for: options.xenVersion, file: nil)].compactMap { $0 }
            return nil
        }
        checkGuestType()
        let requests = VirtioRequest.requests(for: guest, rules: rules)
        checkVirtioTypes(requests)
        let slots = allocate(requests)
        let spis = slots.map { planSPIs($0, rules: rules) }
        let gic = resolvedGIC
        let vcpus = checkVCPUs(gic)
        let ramSize = checkRAM()
        let copied = checkPartialTree()
        guard !hasErrors, let slots, let spis, let ramSize else { return nil }

        let plan = GuestPlan(
            template: template, rules: rules, version: options.xenVersion, arch: inputs.kernel.arch, gic: gic,
            vcpus: vcpus, bootargs: guest.bootargs, hasRamdisk: inputs.ramdiskSize != nil,
            vuart: guest.vuart?.value == true, optee: guest.tee?.value == .optee, vpci: !guest.pci.isEmpty,
            timerFrequency: options.timerFrequency,
            devices: requests.indices.map { PlacedDevice(request: requests[$0], slot: slots[$0]) }, copiedNodes: copied)
        // libxl's order: the tree with placeholders, its size for the
        // domain builder's layout, then the placeholders patched.
        var (tree, placeholders) = GuestTree.build(plan)
        guard let blobSize = libxlBlobSize(tree), let memory = layOutMemory(ramSize: ramSize, blobSize: blobSize) else {
            return nil
        }
        let regions = ExtendedRegions.find(
            bankSizes: memory.bankSizes, gpaddrBits: options.gpaddrBits, iomem: guest.iomem.map(\.value),
            rules: rules, template: template)
        if regions.isEmpty {
            report(LayoutRules.noExtendedRegions, nil,
                   "no extended region: no unused range of \(template.extendedRegions.minimumSize >> 20) MiB or more below 2^\(options.gpaddrBits) (libxl: `The extended regions cannot be allocated, not enough space`)")
        }
        GuestTree.finalise(&tree, at: placeholders, plan, Finalisation(
            initrd: memory.ramdisk, bankSizes: memory.bankSizes, extendedRegions: regions, rngSeed: options.rngSeed))
        if let partial = inputs.partialTree {
            let (reviewed, findings) = PartialCopy.review(tree, copiedNames: copied.map(\.name), file: partial.file)
            tree = reviewed
            diagnostics += findings
            if hasErrors { return nil }
        }
        let summary = LayoutSummary(
            xenVersion: options.xenVersion, arch: plan.arch, gic: gic, vcpus: vcpus,
            devices: plan.devices,
            spisNeeded: spis.needed, nrSpis: spis.granted, memory: memory, deviceTreeSize: blobSize,
            extendedRegions: regions)
        return (tree, summary)
    }

    // MARK: Checks before the tree

    private mutating func checkGuestType() {
        if let type = guest.type, type.value == .hvm {
            report(LayoutRules.typeHVM, type.location, "libxl refuses HVM guests on Arm: `Unsupported Arm guest type hvm`")
        }
    }

    /// Types libxl refuses when it builds a `virtio=` device's node. The
    /// requests are exactly the `virtio=` entries that get one (entries
    /// without `transport=mmio` get none, the front end says so, and
    /// before 4.18 xl reads no `virtio=` at all). Read by index: copying a
    /// request, or a `VirtioDevice`, costs more than checking it.
    private mutating func checkVirtioTypes(_ requests: [VirtioRequest]) {
        for index in requests.indices {
            guard case .device(let entry) = requests[index].kind else { continue }
            guard let type = requests[index].type else {
                report(LayoutRules.virtioTypeMissing, requests[index].location, "virtio device with `transport=mmio` has no `type=`")
                continue
            }
            if !type.hasPrefix(GuestNodes.genericType) {
                let (why, hint) = Self.gluedType(type)
                report(LayoutRules.virtioTypeInvalid, guest.virtioDevices[entry].type?.location,
                       "`Invalid type for virtio device: \(type)`" + why, hint: hint)
            }
        }
    }

    /// xl glues the token after `type=virtio...` to it with a comma. When
    /// the token was a setting, or kept a space, the user split the type
    /// by mistake: say so, and how to write it.
    private static func gluedType(_ type: String) -> (why: String, hint: String?) {
        guard type.hasPrefix("virtio"), let comma = type.firstIndex(of: ",") else { return ("", nil) }
        let head = type[..<comma], glued = type[type.index(after: comma)...]
        let joined = ": xl joined `type=\(head)` with the next item of the spec, `\(glued)`"
        if glued.contains("=") {
            return (joined + ", so that setting is lost too", "give the full type right after type=, for example type=virtio,device22")
        }
        let trimmed = glued.drop { $0 == " " || $0 == "\t" }
        guard trimmed.count < glued.count else { return ("", nil) }
        return (joined + ", keeping the space", "write type=\(head),\(trimmed) without a space after the comma")
    }

    private mutating func allocate(_ requests: [VirtioRequest]) -> [VirtioSlot]? {
        switch VirtioAllocator.allocate(count: requests.count, template: template) {
        case .success(let slots):
            return slots
        case .failure(.spis(let index, let spi)):
            let range = template.virtioMMIO.spis
            report(LayoutRules.virtioSPIExhausted, requests[index].location,
                   "virtio-mmio device \(index + 1) of \(requests.count) needs SPI \(spi), past the reserved SPIs \(range.lowerBound)-\(range.upperBound): `Ran out of reserved range for Virtio MMIO IRQ \(spi)`",
                   hint: "at most \(range.count) virtio-mmio devices fit; this config has \(requests.count)")
            return nil
        case .failure(.window(let index, let base)):
            let window = template.memoryMap.virtioMMIO
            report(LayoutRules.virtioMMIOExhausted, requests[index].location,
                   "virtio-mmio device \(index + 1) of \(requests.count) does not fit in the window \(window): `Ran out of reserved range for Virtio MMIO BASE \(hex(base))`",
                   hint: "the window holds \(window.size / template.virtioMMIO.deviceSize) devices of \(hex(template.virtioMMIO.deviceSize)) bytes")
            return nil
        }
    }

    private mutating func planSPIs(_ slots: [VirtioSlot], rules: VersionRules) -> SPIPlan {
        let plan = SPIPlan(
            vuart: guest.vuart?.value == true, slots: slots, irqs: guest.irqs, userNrSpis: guest.nrSpis,
            policy: rules.nrSpis, template: template)
        for conflict in plan.conflicts {
            switch conflict {
            case .vuart(let irq):
                report(LayoutRules.irqOnVuart, irq.location, "`Physical IRQ \(irq.value) conflicting with pl011 SPI`")
            case .virtio(let irq, let range):
                report(LayoutRules.irqOnVirtio, irq.location,
                       "`Physical IRQ \(irq.value) conflicting with Virtio MMIO IRQ range` (\(range.lowerBound)-\(range.upperBound) are given to virtio devices)")
            }
        }
        if let user = plan.tooSmall {
            report(LayoutRules.nrSpisTooSmall, user.location,
                   "`Provided nr_spis value is too small (minimum required \(plan.needed))`", hint: "set `nr_spis = \(plan.needed)` or remove it")
        }
        return plan
    }

    /// The guest's GIC: `gic_version`, or the host's when unset or `default`.
    private var resolvedGIC: HostGIC {
        switch guest.gicVersion?.value {
        case .v2?: .v2
        case .v3?: .v3
        case .hostDefault?, nil: options.hostGIC
        }
    }

    private mutating func checkVCPUs(_ gic: HostGIC) -> Int {
        let setting = guest.maxvcpus ?? guest.vcpus
        let vcpus = setting?.value ?? 1
        let limit = gic == .v2 ? template.limits.vcpusGICv2 : template.limits.vcpusGICv3
        if vcpus > limit {
            let source = guest.gicVersion.map { _ in "`gic_version`" } ?? "the host's GIC (--host-gic)"
            report(LayoutRules.vcpusGIC, setting?.location,
                   "\(vcpus) vCPUs exceed the \(limit) a GIC\(gic.rawValue) guest can have (Xen: `Requested vCPUs (\(vcpus)) exceeds max (\(limit))`)",
                   hint: "GIC\(gic.rawValue) comes from \(source); lower `maxvcpus` to \(limit) or use GICv3")
        }
        return vcpus
    }

    /// RAM in bytes: `maxmem`, else `memory`, else 32 MiB.
    private mutating func checkRAM() -> UInt64? {
        let setting = guest.maxmemMiB ?? guest.memoryMiB
        let mib = setting?.value ?? 32
        let (bytes, overflow) = mib.multipliedReportingOverflow(by: 1 << 20)
        guard bytes > 0, !overflow, bytes <= template.maximumRAM else {
            let which = guest.maxmemMiB != nil ? "maxmem" : "memory"
            report(LayoutRules.ramSize, setting?.location,
                   "`\(which) = \(mib)` MiB: guest RAM must be between 1 MiB and \(template.maximumRAM >> 20) MiB (the RAM banks)")
            return nil
        }
        return bytes
    }

    /// The nodes libxl copies from the partial tree, checked.
    private mutating func checkPartialTree() -> [Node] {
        guard let partial = inputs.partialTree else { return [] }
        guard let passthrough = PartialCopy.copied(PartialCopy.passthrough, from: partial.tree) else {
            report(LayoutRules.partialNoPassthrough, guest.deviceTree?.location,
                   "'\(partial.file)' has no root node named exactly `passthrough`: `Can't copy the node \"/passthrough\" from the partial FDT`")
            return []
        }
        let copied = [passthrough] + [PartialCopy.copied(PartialCopy.aliases, from: partial.tree)].compactMap { $0 }
        diagnostics += PartialCopy.precheck(copied, file: partial.file, template: template)
        return copied
    }

    // MARK: Trees and memory

    /// `totalsize` of the blob libxl builds before finalisation, when it
    /// fits libxl's largest buffer (4096 doubled up to `FDT_MAX_SIZE`).
    private mutating func libxlBlobSize(_ unfinalised: DeviceTree) -> Int? {
        let size = DTBWriter.size(of: unfinalised)
        var buffer = 4096
        while buffer < template.limits.fdtMaxSize { buffer *= 2 }
        guard size <= buffer else {
            report(LayoutRules.treeTooLarge, guest.deviceTree?.location,
                   "libxl's tree would be \(size) bytes, more than its largest buffer of \(buffer) bytes (libxl: `FDT: ... failed: -3 = FDT_ERR_NOSPACE`)")
            return nil
        }
        return size
    }

    private mutating func layOutMemory(ramSize: UInt64, blobSize: Int) -> BootMemory? {
        switch BootMemory.layout(
            ramSize: ramSize, kernel: inputs.kernel, deviceTreeSize: UInt64(blobSize), ramdiskSize: inputs.ramdiskSize,
            template: template)
        {
        case .success(let memory):
            return memory
        case .failure(let failure):
            let rule: Rule
            switch failure {
            case .emptyRAM, .ramTooLarge: rule = LayoutRules.ramSize
            case .modulesTooLarge, .noPlaceForModules, .kernelOutsideRAM: rule = LayoutRules.modulesNoRoom
            }
            report(rule, guest.ramdisk?.location ?? guest.kernel?.location, failure.description)
            return nil
        }
    }
}
