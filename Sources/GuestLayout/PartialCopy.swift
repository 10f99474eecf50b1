import DeviceTree
import Diagnostics

/// The `device_tree=` copy: which nodes libxl takes from the partial tree
/// and what makes the result unsound (`copy_partial_fdt` in libxl_arm.c).
enum PartialCopy {
    static let passthrough = "passthrough"
    static let aliases = "aliases"

    /// The root child `/name` as libxl finds it: libfdt's path lookup takes
    /// the first child named `name` or `name@...`, and libxl then insists
    /// on the exact name, so a `name@1` listed first hides a later `name`.
    static func copied(_ name: String, from tree: DeviceTree) -> Node? {
        let first = tree.root.children.first { $0.name == name || $0.name.hasPrefix(name + "@") }
        return first?.name == name ? first : nil
    }

    /// Problems visible before the copy: phandles the guest tree already
    /// uses or that repeat, and a `/passthrough` that is not a simple bus.
    static func precheck(_ copied: [Node], file: String, template: Template) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let table = NodeTable(DeviceTree(root: Node("", children: copied)))
        let reserved = [template.phandles.gic: "the GIC", template.phandles.iommu: "xen_iommu"]
        for entry in table.entries {
            guard let phandle = entry.node.phandle, let owner = reserved[phandle] else { continue }
            diagnostics.append(LayoutRules.partialPhandleClash.at(
                file: file, node: entry.path, "phandle \(hex(phandle)) is reserved for \(owner) in the guest tree"))
        }
        for clash in table.phandleClashes {
            diagnostics.append(LayoutRules.partialPhandleClash.at(
                file: file, node: clash.paths[1],
                "phandle \(hex(clash.phandle)) is also on \(clash.paths[0]); the guest tree would carry it twice"))
        }
        if let bus = copied.first(where: { $0.name == passthrough }) {
            let missing = ["ranges", "#address-cells", "#size-cells"].filter { bus[property: $0] == nil }
                + (bus[property: "compatible"]?.strings?.contains("simple-bus") == true ? [] : ["compatible = \"simple-bus\""])
            if !missing.isEmpty {
                diagnostics.append(LayoutRules.partialBus.at(
                    file: file, node: "/" + passthrough, "missing " + missing.joined(separator: ", ")))
            }
        }
        return diagnostics
    }

    /// Checks the copied nodes' references in the finished guest tree, and
    /// returns the tree with their phandle cells marked and the copied
    /// nodes they reach labelled, so the DTS writes `&label` and dtc does
    /// not flag raw numbers. Labels never reach the DTB.
    static func review(_ tree: DeviceTree, copiedNames: [String], file: String) -> (DeviceTree, [Diagnostic]) {
        let table = NodeTable(tree)
        var diagnostics: [Diagnostic] = []
        var marks: [String: [String: [Int]]] = [:]  // path -> property -> phandle cells
        var targets = Set<UInt32>()
        let copiedPaths = Set(copiedNames.map { "/" + $0 })
        let inCopy = table.entries.filter { entry in
            copiedPaths.contains(entry.path) || copiedPaths.contains { entry.path.hasPrefix($0 + "/") }
        }
        for entry in inCopy {
            if entry.path == "/" + aliases {
                diagnostics += checkAliases(entry.node, table: table, file: file)
                continue
            }
            for property in entry.node.properties {
                guard let layout = PhandleReferences.layout(of: property.name), let cells = property.value.cells else { continue }
                let (found, dangling) = PhandleReferences.walk(cells, layout: layout, table: table)
                if !found.isEmpty { marks[entry.path, default: [:]][property.name] = found.map(\.cell) }
                targets.formUnion(found.map(\.phandle))
                if let dangling {
                    diagnostics.append(LayoutRules.partialDangling.at(
                        file: file, node: entry.path,
                        "'\(property.name)' cell \(dangling.cell) refers to phandle \(hex(dangling.phandle)), which no node of the guest tree carries"))
                }
            }
        }
        var annotated = tree
        var labels = Set(collectLabels(tree.root))
        for index in annotated.root.children.indices where copiedNames.contains(annotated.root.children[index].name) {
            annotate(&annotated.root.children[index], path: "/" + annotated.root.children[index].name,
                     marks: marks, targets: targets, labels: &labels)
        }
        return (annotated, diagnostics)
    }

    private static func collectLabels(_ node: Node) -> [String] {
        node.labels + node.children.flatMap(collectLabels)
    }

    private static func annotate(
        _ node: inout Node, path: String, marks: [String: [String: [Int]]], targets: Set<UInt32>, labels: inout Set<String>
    ) {
        for (name, cells) in marks[path] ?? [:] {
            guard let index = node.properties.firstIndex(where: { $0.name == name }) else { continue }
            let bytes = node.properties[index].value.bytes
            node.properties[index].value = PropertyValue(bytes: bytes, shape: [.cells(count: bytes.count / 4, phandles: cells)])
        }
        if let phandle = node.phandle, targets.contains(phandle), node.labels.isEmpty {
            node.labels = [uniqueLabel(for: node, taken: &labels)]
        }
        for index in node.children.indices {
            annotate(&node.children[index], path: childPath(path, node.children[index].name), marks: marks,
                     targets: targets, labels: &labels)
        }
    }

    /// `pt_` + the node name with every character outside [A-Za-z0-9_]
    /// replaced by `_`, numbered when taken.
    private static func uniqueLabel(for node: Node, taken: inout Set<String>) -> String {
        let base = "pt_" + String(node.name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        var label = base
        var counter = 1
        while taken.contains(label) {
            counter += 1
            label = "\(base)_\(counter)"
        }
        taken.insert(label)
        return label
    }

    /// Each alias must name a node of the guest tree by absolute path.
    private static func checkAliases(_ node: Node, table: NodeTable, file: String) -> [Diagnostic] {
        node.properties.compactMap { property in
            guard !["phandle", "linux,phandle", "name"].contains(property.name) else { return nil }
            guard let path = property.value.string, path.hasPrefix("/") else {
                return LayoutRules.partialAlias.at(
                    file: file, node: "/" + aliases, "alias '\(property.name)' is not an absolute node path")
            }
            guard resolve(path, in: table) else {
                return LayoutRules.partialAlias.at(
                    file: file, node: "/" + aliases, "alias '\(property.name)' names \(path), which is not in the guest tree")
            }
            return nil
        }
    }

    /// Path lookup as the kernel does it: a component without a unit
    /// address also matches a child named `component@...`.
    private static func resolve(_ path: String, in table: NodeTable) -> Bool {
        var current = table[0].node
        for component in path.split(separator: "/") {
            let name = String(component)
            guard let next = current.children.first(where: { $0.name == name })
                ?? (name.contains("@") ? nil : current.children.first(where: { $0.baseName == name }))
            else { return false }
            current = next
        }
        return true
    }
}
