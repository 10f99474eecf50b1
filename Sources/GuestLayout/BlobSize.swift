import DeviceTree
import Glibc

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
        var sizes = Sizes()
        sizes.add(tree.root)
        return 48 + 16 * (tree.reservations.count + 1) + sizes.structure + sizes.strings.size
    }

    private static func align4(_ size: Int) -> Int { (size + 3) & ~3 }

    private struct Sizes {
        var structure = 4  // FDT_END
        var strings = Strings()

        /// Pre-order, children in order: the order libxl writes in.
        mutating func add(_ node: Node) {
            structure += 4 + align4(node.name.utf8.count + 1) + 4  // BEGIN_NODE + name, END_NODE
            for property in node.properties {
                structure += 12 + align4(property.value.bytes.count)
                strings.add(property.name)
            }
            for child in node.children { add(child) }
        }
    }

    /// The strings block as libfdt fills it: the names, NUL-terminated, in
    /// first-use order, each left out when it is a stored one or the tail
    /// of one. A guest has a few dozen distinct names: a scan with a length
    /// check and `memcmp` costs less than hashing every name.
    private struct Strings {
        private(set) var size = 0
        /// Where each stored name starts and ends in `bytes`.
        private var stored: [Range<Int>] = []
        private var bytes: [UInt8] = []

        mutating func add(_ name: String) {
            var name = name
            name.withUTF8 { tail in
                guard !holds(tail) else { return }
                stored.append(bytes.count..<(bytes.count + tail.count))
                bytes.append(contentsOf: tail)
                size += tail.count + 1
            }
        }

        /// Whether `tail` followed by NUL is in the block.
        private func holds(_ tail: UnsafeBufferPointer<UInt8>) -> Bool {
            bytes.withUnsafeBufferPointer { table in
                guard let start = table.baseAddress else { return false }
                guard let name = tail.baseAddress, !tail.isEmpty else { return !stored.isEmpty }
                return stored.contains { range in
                    range.count >= tail.count && memcmp(start + range.upperBound - tail.count, name, tail.count) == 0
                }
            }
        }
    }
}
