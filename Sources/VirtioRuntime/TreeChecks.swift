import DeviceTree
import Diagnostics

/// The checks `grantdt validate` and `grantdt inspect` run on a guest
/// tree (`TreeRules.all`). Every check is linear or n·log n in the tree:
/// per-node checks read the binder's analysis, cross-device checks use
/// hashing (shared SPIs) and one sort (overlapping registers).
///
/// Scope: `virtio,mmio` nodes, `xen,grant-dma` nodes and nodes with
/// `iommu-map`. Shape checks (`reg`, interrupt, overlaps, shared SPIs)
/// apply to enabled devices only, as dt-schema excuses disabled nodes;
/// reference checks (`iommus`, `memory-region`) apply to every node.
public enum TreeChecks {
    /// The diagnostics for a tree, in tree order; `file` names the blob.
    public static func run(_ tree: DeviceTree, file: String?) -> [Diagnostic] {
        run(Binder(tree: tree), file: file)
    }

    /// The diagnostics for a tree already bound (no work is repeated).
    public static func run(_ binder: Binder, file: String?) -> [Diagnostic] {
        var findings = Findings(file: file, tree: binder.tree)
        for analysis in binder.analyses {
            DeviceChecks.check(analysis, into: &findings)
        }
        for node in 0..<binder.tree.count {
            if binder.tree.isCompatible(node, XenGrantDMA.compatible) {
                DeviceChecks.checkProvider(node, into: &findings)
            }
            if binder.tree.has(node, "iommu-map") {
                MapChecks.check(node, into: &findings)
            }
        }
        CrossDeviceChecks.overlaps(binder.analyses, into: &findings)
        CrossDeviceChecks.sharedSPIs(binder.analyses, into: &findings)
        return findings.sorted
    }
}

/// Diagnostics collected with the node they concern, returned in tree
/// order (stable within a node).
struct Findings {
    let file: String?
    let tree: TreeIndex
    private var items: [(node: Int, diagnostic: Diagnostic)] = []

    init(file: String?, tree: TreeIndex) {
        self.file = file
        self.tree = tree
    }

    mutating func add(_ rule: Rule, at node: Int, _ message: String, hint: String? = nil) {
        items.append((node, rule.at(file: file, node: tree.path(node), message, hint: hint)))
    }

    var sorted: [Diagnostic] {
        items.enumerated().sorted { ($0.element.node, $0.offset) < ($1.element.node, $1.offset) }.map(\.element.diagnostic)
    }
}
