import Diagnostics

/// Checks between devices, kept linear: one sort for register overlaps,
/// one hash table for shared SPIs.
enum CrossDeviceChecks {
    /// Enabled devices whose register ranges intersect: sorted by base,
    /// each range is compared with the one reaching furthest so far.
    static func overlaps(_ devices: [DeviceAnalysis], into findings: inout Findings) {
        let ranges = devices
            .compactMap { device in device.enabled ? device.reg.range.map { (node: device.node, range: $0) } : nil }
            .filter { $0.range.size > 0 }
            .sorted { ($0.range.base, $0.node) < ($1.range.base, $1.node) }
        guard var reach = ranges.first else { return }
        for next in ranges.dropFirst() {
            if UInt128(next.range.base) < reach.range.end {
                findings.add(
                    TreeRules.regOverlap, at: next.node,
                    "registers \(next.range) overlap those of \(findings.tree.path(reach.node)) (\(reach.range))")
            }
            if next.range.end > reach.range.end { reach = next }
        }
    }

    /// Enabled devices on an SPI that another enabled node also uses. An
    /// SPI is keyed by its controller, so two GICs do not collide. Every
    /// enabled node with interrupts takes part (all its entries), so a
    /// virtio device on the vpl011's SPI 32 is caught too.
    static func sharedSPIs(_ devices: [DeviceAnalysis], into findings: inout Findings) {
        let tree = findings.tree
        struct Key: Hashable {
            let controller: Int
            let spi: UInt32
        }
        var users: [Key: Set<Int>] = [:]
        func use(_ interrupt: Interrupt, by node: Int) {
            guard let spi = interrupt.spi else { return }
            users[Key(controller: interrupt.controller, spi: spi), default: []].insert(node)
        }
        var isDevice = Set<Int>()
        for device in devices where device.enabled {
            isDevice.insert(device.node)
            if let first = device.interrupts.entries.first { use(first, by: device.node) }
        }
        var resolver = InterruptResolver(tree)
        for node in 0..<tree.count where tree.available[node] && !isDevice.contains(node) {
            guard tree.has(node, "interrupts") || tree.has(node, "interrupts-extended") else { continue }
            for interrupt in resolver.interrupts(of: node).entries { use(interrupt, by: node) }
        }
        for (key, nodes) in users where nodes.count > 1 {
            // Tree order: report every device after the first user.
            let ordered = nodes.sorted()
            for node in ordered.dropFirst() where isDevice.contains(node) {
                findings.add(
                    TreeRules.spiShared, at: node,
                    "interrupt \(key.spi) (SPI \(key.spi - 32)) of \(tree.path(key.controller)) is also used by \(tree.path(ordered[0]))")
            }
        }
    }
}
