import DeviceTree

/// Which properties hold phandles, and how to find them among the cells.
///
/// Properties with specifiers (`clocks = <&clk 1 &clk 2>`) take as many
/// argument cells after each phandle as the target's `#...-cells` says;
/// walking stops at a phandle that resolves to nothing (its argument count
/// is unknown) or whose target lacks the count. Cells 0 and 0xffffffff
/// are empty slots, as dtc treats them.
enum PhandleReferences {
    enum Layout: Hashable {
        /// One phandle (`interrupt-parent`, `*-supply`).
        case single
        /// Phandles only (`pinctrl-0`, `memory-region`).
        case list
        /// Phandle + arguments, repeated; the target's cell-count property
        /// and the count assumed when the target has none (nil: unknown).
        case specifiers(cells: String, fallback: UInt32?)
    }

    /// One phandle found in a property's cells.
    struct Reference: Hashable {
        let cell: Int
        let phandle: UInt32
    }

    /// The specifier properties dtc checks (`WARNING_PROPERTY_PHANDLE_CELLS`)
    /// plus the clock-assignment ones.
    private static let specifiers: [String: Layout] = [
        "clocks": .specifiers(cells: "#clock-cells", fallback: nil),
        "assigned-clocks": .specifiers(cells: "#clock-cells", fallback: nil),
        "assigned-clock-parents": .specifiers(cells: "#clock-cells", fallback: nil),
        "cooling-device": .specifiers(cells: "#cooling-cells", fallback: nil),
        "dmas": .specifiers(cells: "#dma-cells", fallback: nil),
        "hwlocks": .specifiers(cells: "#hwlock-cells", fallback: nil),
        "interconnects": .specifiers(cells: "#interconnect-cells", fallback: nil),
        "interrupts-extended": .specifiers(cells: "#interrupt-cells", fallback: nil),
        "io-channels": .specifiers(cells: "#io-channel-cells", fallback: nil),
        "iommus": .specifiers(cells: "#iommu-cells", fallback: nil),
        "mboxes": .specifiers(cells: "#mbox-cells", fallback: nil),
        "msi-parent": .specifiers(cells: "#msi-cells", fallback: 0),
        "mux-controls": .specifiers(cells: "#mux-control-cells", fallback: nil),
        "phys": .specifiers(cells: "#phy-cells", fallback: nil),
        "power-domains": .specifiers(cells: "#power-domain-cells", fallback: nil),
        "pwms": .specifiers(cells: "#pwm-cells", fallback: nil),
        "resets": .specifiers(cells: "#reset-cells", fallback: nil),
        "sound-dai": .specifiers(cells: "#sound-dai-cells", fallback: nil),
        "thermal-sensors": .specifiers(cells: "#thermal-sensor-cells", fallback: nil),
        "gpios": .specifiers(cells: "#gpio-cells", fallback: nil),
        "interrupt-parent": .single,
        "phy-handle": .single,
        "operating-points-v2": .single,
        "next-level-cache": .single,
        "remote-endpoint": .single,
        "memory-region": .list,
        "nvmem-cells": .list,
        "cpu-idle-states": .list,
    ]

    /// The layout of a property, or nil when it holds no phandles we know of.
    static func layout(of name: String) -> Layout? {
        if let known = specifiers[name] { return known }
        if name.hasSuffix("-gpios") && name != "nr-gpios" { return specifiers["gpios"] }
        if name.hasSuffix("-supply") { return .single }
        if name.hasPrefix("pinctrl-"), name.dropFirst("pinctrl-".count).allSatisfy(\.isNumber), name.count > 8 { return .list }
        return nil
    }

    /// The phandles in `cells`, and the first one that resolves to no node.
    static func walk(_ cells: [UInt32], layout: Layout, table: NodeTable) -> (found: [Reference], dangling: Reference?) {
        var found: [Reference] = []
        var index = 0
        while index < cells.count {
            let phandle = cells[index]
            if layout == .single && index > 0 { break }
            if phandle == 0 || phandle == 0xffff_ffff {
                index += 1
                continue
            }
            let reference = Reference(cell: index, phandle: phandle)
            guard let target = table.index(ofPhandle: phandle) else { return (found, reference) }
            found.append(reference)
            guard case .specifiers(let name, let fallback) = layout else {
                index += 1
                continue
            }
            guard let arguments = table[target].node[property: name]?.u32 ?? fallback else { break }
            index += 1 + Int(arguments)
        }
        return (found, nil)
    }
}
