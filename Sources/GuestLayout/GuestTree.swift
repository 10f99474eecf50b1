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

/// Where `build` put the nodes `finalise` patches, as indices of the
/// root's children: no lookup by name, and no string comparisons.
struct Placeholders {
    var chosen: Int
    /// One node per RAM bank, in bank order.
    var memory: Range<Int>
    var hypervisor: Int
}

/// Builds the tree libxl writes, node by node in libxl's order
/// (`libxl__prepare_dtb`): placeholders, a 128-byte `rng-seed`, every
/// memory node. `finalise` then patches it into the tree the guest boots
/// with, as libxl patches its blob once RAM is laid out.
enum GuestTree {
    static func build(_ plan: GuestPlan) -> (tree: DeviceTree, placeholders: Placeholders) {
        let nodes = GuestNodes(plan)
        var root = nodes.root()
        let banks = plan.template.memoryMap.ramBanks
        root.children.reserveCapacity(GuestNodes.singletons + banks.count + plan.devices.count + plan.copiedNodes.count)
        let chosen = root.children.count
        root.children.append(nodes.chosen())
        root.children.append(nodes.cpus())
        root.children.append(nodes.psci())
        let memory = root.children.count..<(root.children.count + banks.count)
        for bank in banks { root.children.append(nodes.memory(bank)) }
        root.children.append(nodes.gic())
        root.children.append(nodes.timer())
        let hypervisor = root.children.count
        root.children.append(nodes.hypervisor())
        if plan.vuart { root.children.append(nodes.vpl011()) }
        if plan.optee { root.children.append(nodes.optee()) }
        if plan.vpci { root.children.append(nodes.vpciBridge()) }
        var iommuPlaced = false
        for index in plan.devices.indices {
            if plan.rules.iommuNode == .beforeFirstGrantedDisk, plan.devices[index].request.grants, !iommuPlaced {
                root.children.append(nodes.iommu())
                iommuPlaced = true
            }
            root.children.append(nodes.virtio(index))
        }
        if plan.rules.iommuNode == .afterVirtioDevices, plan.needsIOMMU { root.children.append(nodes.iommu()) }
        root.children += plan.copiedNodes
        return (DeviceTree(root: root), Placeholders(chosen: chosen, memory: memory, hypervisor: hypervisor))
    }

    /// libxl's finalisation (`libxl__arch_domain_finalise_hw_description`)
    /// of a tree from `build`: the initrd, `rng-seed`, memory and
    /// `hypervisor` placeholders get their values; empty banks' memory
    /// nodes go (libxl NOPs them). Nothing else changes.
    static func finalise(_ tree: inout DeviceTree, at placeholders: Placeholders, _ plan: GuestPlan, _ final: Finalisation) {
        finaliseChosen(&tree.root.children[placeholders.chosen], plan, final)
        let grantTable = plan.template.memoryMap.grantTable
        var regions: [(UInt64, UInt64)] = []
        regions.reserveCapacity(1 + final.extendedRegions.count)
        regions.append((grantTable.base, grantTable.size))
        for region in final.extendedRegions { regions.append((region.base, region.size)) }
        tree.root.children[placeholders.hypervisor].set("reg", .u64Pairs(regions))
        // Last bank first: removing a node leaves the earlier indices valid.
        for (offset, bank) in plan.template.memoryMap.ramBanks.enumerated().reversed() {
            let index = placeholders.memory.lowerBound + offset
            let size = offset < final.bankSizes.count ? final.bankSizes[offset] : 0
            if size == 0 {
                tree.root.children.remove(at: index)
            } else {
                tree.root.children[index].set("reg", .u64Pair(bank.base, size))
            }
        }
    }

    /// `chosen`'s initrd range and its `rng-seed`, kept or dropped.
    private static func finaliseChosen(_ chosen: inout Node, _ plan: GuestPlan, _ final: Finalisation) {
        if plan.hasRamdisk, let initrd = final.initrd {
            chosen.set("linux,initrd-start", .u64(initrd.base))
            chosen.set("linux,initrd-end", .u64(initrd.base + initrd.size))
        }
        // libxl always writes 128 random bytes; the final tree has the
        // seed the user asked for, if any (deterministic output by default).
        if let seed = final.rngSeed {
            chosen.set("rng-seed", .bytes(seed))
        } else {
            if let index = chosen.properties.firstIndex(where: { $0.name == "rng-seed" }) {
                chosen.properties.remove(at: index)
            }
        }
    }
}
