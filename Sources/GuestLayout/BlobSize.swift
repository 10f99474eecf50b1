import DeviceTree

/// The `totalsize` libfdt's sequential-write API gives a tree written in
/// model order, as libxl writes it: the domain builder's DTB size.
///
/// The layout is the same in every libfdt version: a 40-byte header
/// padded to 48, an empty reservation map (one 16-byte terminator), the
/// structure block, then the strings (`StringsBlock`).
enum BlobSize {
    static func of(_ tree: DeviceTree) -> Int {
        var sizes = Sizes()
        sizes.add(tree.root)
        return 48 + 16 * (tree.reservations.count + 1) + sizes.structure + sizes.strings.size
    }

    private static func align4(_ size: Int) -> Int { (size + 3) & ~3 }

    private struct Sizes {
        var structure = 4  // FDT_END
        var strings = StringsBlock()

        /// Pre-order, children in order: the order libxl writes in. Nodes
        /// and properties are read by index: iterating copies each one.
        mutating func add(_ node: Node) {
            structure += 4 + align4(node.name.utf8.count + 1) + 4  // BEGIN_NODE + name, END_NODE
            for index in node.properties.indices {
                structure += 12 + align4(node.properties[index].value.bytes.count)
                strings.add(node.properties[index].name)
            }
            for index in node.children.indices { add(node.children[index]) }
        }
    }
}
