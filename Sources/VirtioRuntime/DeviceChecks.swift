import Diagnostics

/// Checks of one `virtio,mmio` node, and of `xen,grant-dma` providers.
enum DeviceChecks {
    static func check(_ device: DeviceAnalysis, into findings: inout Findings) {
        if let iommus = device.iommus { checkIOMMUs(iommus, of: device, into: &findings) }
        checkMemoryRegion(device, into: &findings)
        guard device.enabled else { return }
        checkReg(device, into: &findings)
        checkInterrupt(device, into: &findings)
    }

    /// A `xen,grant-dma` node needs exactly `#iommu-cells = <1>`.
    static func checkProvider(_ node: Int, into findings: inout Findings) {
        let rule = TreeRules.grantIOMMUCells
        guard let cells = findings.tree.property(node, "#iommu-cells") else {
            findings.add(rule, at: node, "xen,grant-dma node has no #iommu-cells: Linux cannot parse iommus entries that point at it, so no device gets grants")
            return
        }
        guard cells.u32 == 1 else {
            let shown = cells.u32.map { "<\($0)>" } ?? "\(cells.bytes.count) bytes"
            findings.add(rule, at: node, "xen,grant-dma node has #iommu-cells = \(shown): Linux grants only through entries with exactly one cell (\"Incompatible IOMMU node\")")
            return
        }
    }

    // MARK: - iommus

    private static func checkIOMMUs(_ iommus: IOMMUList, of device: DeviceAnalysis, into findings: inout Findings) {
        let node = device.node
        let tree = findings.tree
        if iommus.strayBytes > 0 {
            findings.add(TreeRules.iommusLength, at: node, "iommus ends with \(iommus.strayBytes) byte(s) that are not a whole cell")
        }
        guard let first = iommus.entries.first else {
            switch iommus.problem {
            case .none:
                findings.add(TreeRules.iommusLength, at: node, "iommus is empty: Linux cannot parse it and the device gets no grant DMA")
            case .dangling(let phandle):
                findings.add(TreeRules.iommusDangling, at: node, "iommus phandle \(hex(phandle)) matches no node: Linux cannot parse it and the device gets no grant DMA")
            case .noCellCount(let provider):
                // A xen,grant-dma provider without #iommu-cells is reported on the provider.
                if !tree.isCompatible(provider, XenGrantDMA.compatible) {
                    findings.add(TreeRules.iommusNotGrant, at: node, "iommus points at \(tree.path(provider))\(describe(provider, in: tree)), which is not xen,grant-dma and has no #iommu-cells")
                }
            case .truncated(let provider, let needed, let remaining):
                notGrant(provider, of: node, into: &findings)
                findings.add(TreeRules.iommusLength, at: node, "iommus entry for \(tree.path(provider)) needs \(needed) argument cell(s) (#iommu-cells = \(needed)), but \(remaining) follow")
            }
            return
        }
        notGrant(first.provider, of: node, into: &findings)
        if tree.isCompatible(first.provider, XenGrantDMA.compatible), first.arguments.count == 1 {
            checkDomid(first.arguments[0], at: node, source: "iommus", into: &findings)
        }
        if let problem = iommus.problem {
            findings.add(TreeRules.iommusLength, at: node, "iommus has cells after its first entry that do not form another entry: \(describe(problem, in: tree))")
        } else if iommus.entries.count > 1 {
            findings.add(TreeRules.iommusExtra, at: node, "iommus has \(iommus.entries.count) entries; Linux uses only the first (\(tree.path(first.provider)))")
        }
    }

    private static func notGrant(_ provider: Int, of node: Int, into findings: inout Findings) {
        let tree = findings.tree
        guard !tree.isCompatible(provider, XenGrantDMA.compatible) else { return }
        let consequence = tree.available[provider] && tree.has(provider, "#iommu-cells")
            ? "the device is put behind that IOMMU and gets no grant DMA"
            : "the device gets no grant DMA"
        findings.add(TreeRules.iommusNotGrant, at: node, "first iommus entry points at \(tree.path(provider))\(describe(provider, in: tree)), not xen,grant-dma: \(consequence)")
    }

    static func checkDomid(_ domid: UInt32, at node: Int, source: String, into findings: inout Findings) {
        guard domid > XenGrantDMA.lastDomid else { return }
        var text = "\(source) gives backend domid \(hex(domid)) (\(domid))"
        if let name = XenGrantDMA.reservedName(domid) {
            text += ", the reserved \(name)"
        } else if domid > 0xffff {
            text += "; Linux keeps only its low 16 bits (domid_t), \(hex(domid & 0xffff))"
        }
        findings.add(TreeRules.domidRange, at: node, text + "; backend domids are 0 to 0x7fef")
    }

    private static func describe(_ problem: IOMMUsProblem, in tree: TreeIndex) -> String {
        switch problem {
        case .dangling(let phandle): "phandle \(hex(phandle)) matches no node"
        case .noCellCount(let provider): "\(tree.path(provider)) has no #iommu-cells"
        case .truncated(let provider, let needed, let remaining):
            "\(tree.path(provider)) needs \(needed) argument cell(s), \(remaining) remain"
        }
    }

    /// ` (compatible "a")`, or nothing when the node has no compatible.
    private static func describe(_ node: Int, in tree: TreeIndex) -> String {
        let compatibles = tree.compatibles(node)
        return compatibles.isEmpty ? "" : " (compatible \"\(compatibles.joined(separator: "\", \""))\")"
    }

    // MARK: - memory-region

    private static func checkMemoryRegion(_ device: DeviceAnalysis, into findings: inout Findings) {
        let node = device.node
        let tree = findings.tree
        guard let (dangling, wholeCells) = RestrictedPool.dangling(of: node, in: tree) else { return }
        if !wholeCells, let value = tree.property(node, "memory-region") {
            findings.add(TreeRules.memoryRegionDangling, at: node, "memory-region has \(value.bytes.count) bytes, not a list of phandles: Linux ignores it")
        }
        for region in dangling {
            findings.add(TreeRules.memoryRegionDangling, at: node, "memory-region entry \(region.entry) is phandle \(hex(region.phandle)), which matches no node")
        }
        // The pool is not even tried behind a real IOMMU.
        if case .unusable(let pool, let reason) = device.pool, !isBehindIOMMU(device) {
            let effect = if case .grant = device.iommu { "grants still win, but Linux logs the failure" } else { "the device stays dma-direct" }
            findings.add(TreeRules.poolUnusable, at: node, "memory-region selects \(tree.path(pool)), which Linux cannot set up as a restricted-dma-pool: \(reason); \(effect)")
        }
    }

    private static func isBehindIOMMU(_ device: DeviceAnalysis) -> Bool {
        if case .otherIOMMU = device.iommu { true } else { false }
    }

    // MARK: - reg and interrupt

    private static func checkReg(_ device: DeviceAnalysis, into findings: inout Findings) {
        switch device.reg {
        case .resolved: break
        case .absent:
            findings.add(TreeRules.virtioNoReg, at: device.node, "virtio,mmio node has no reg: Linux cannot map its registers")
        case .malformed(let reason):
            findings.add(TreeRules.virtioNoReg, at: device.node, reason)
        case .untranslatable(let reason):
            findings.add(TreeRules.regUntranslatable, at: device.node, "reg cannot be translated to a CPU address: \(reason)")
        }
    }

    private static func checkInterrupt(_ device: DeviceAnalysis, into findings: inout Findings) {
        let interrupts = device.interrupts
        guard interrupts.entries.isEmpty else { return }
        let reason = interrupts.isAbsent ? "it has neither interrupts nor interrupts-extended" : interrupts.problem ?? "no interrupt decodes"
        findings.add(TreeRules.virtioNoIRQ, at: device.node, "virtio,mmio node has no usable interrupt: \(reason)")
    }
}
