import DeviceTree

/// The `totalsize` libfdt's sequential-write API gives a tree written in
/// model order, as libxl writes it: the domain builder's DTB size.
///
/// The layout is the same in every libfdt version: a 40-byte header
/// padded to 48, an empty reservation map (one 16-byte terminator), the
/// structure block, then the strings. A property name is stored only when
/// it is not already present as the tail of a stored name (libfdt finds
/// "phandle" inside "linux,phandle").
enum BlobSize {
    static func of(_ tree: DeviceTree) -> Int {
        var structure = 4  // FDT_END
        var strings = Strings()
        var stack = [tree.root]
        // Pre-order, children in order: the order libxl writes in.
        while let node = stack.popLast() {
            structure += 4 + align4(node.name.utf8.count + 1) + 4  // BEGIN_NODE + name, END_NODE
            for property in node.properties {
                structure += 12 + align4(property.value.bytes.count)
                strings.add(property.name)
            }
            stack.append(contentsOf: node.children.reversed())
        }
        return 48 + 16 * (tree.reservations.count + 1) + structure + strings.size
    }

    private static func align4(_ size: Int) -> Int { (size + 3) & ~3 }

    /// The strings block as libfdt fills it.
    private struct Strings {
        private(set) var size = 0
        private var stored: [String] = []
        /// Names already placed: most properties repeat one, and a name
        /// once present stays present.
        private var present = Set<String>(minimumCapacity: 64)

        mutating func add(_ name: String) {
            guard present.insert(name).inserted else { return }
            let tail = name.utf8
            // Only a longer name can hold it: an equal one would be `present`.
            let found = stored.contains { $0.utf8.count > tail.count && $0.utf8.suffix(tail.count).elementsEqual(tail) }
            if !found {
                stored.append(name)
                size += tail.count + 1
            }
        }
    }
}
