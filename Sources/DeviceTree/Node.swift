/// A named property of a node.
public struct Property: Hashable, Sendable {
    public var name: String
    public var value: PropertyValue

    public init(_ name: String, _ value: PropertyValue) {
        self.name = name
        self.value = value
    }
}

/// A device-tree node: ordered properties, then ordered children.
///
/// Properties always precede children, as the DTB format requires; the
/// model cannot express a property after a subnode.
public struct Node: Hashable, Sendable {
    /// The full name, with unit address (`virtio@2000000`); empty for the root.
    public var name: String
    /// DTS labels (`xen_iommu: xen_iommu { ... }`). A DTB does not carry them.
    public var labels: [String]
    public var properties: [Property]
    public var children: [Node]

    public init(_ name: String, labels: [String] = [], properties: [Property] = [], children: [Node] = []) {
        self.name = name
        self.labels = labels
        self.properties = properties
        self.children = children
    }

    /// The name before `@`.
    public var baseName: Substring {
        name.firstIndex(of: "@").map { name[..<$0] } ?? name[...]
    }

    /// The unit address after `@`, or nil when the name has none.
    public var unitAddress: Substring? {
        name.firstIndex(of: "@").map { name[name.index(after: $0)...] }
    }

    /// The value of the first property with this name.
    public subscript(property name: String) -> PropertyValue? {
        properties.first { $0.name == name }?.value
    }

    /// The first child with exactly this full name.
    public func child(named name: String) -> Node? {
        children.first { $0.name == name }
    }

    /// The node's phandle, from `phandle` or else the legacy `linux,phandle`.
    public var phandle: UInt32? {
        (self[property: "phandle"] ?? self[property: "linux,phandle"])?.u32
    }

    /// Appends a property, or replaces the value of an existing one in place.
    public mutating func set(_ name: String, _ value: PropertyValue) {
        if let index = properties.firstIndex(where: { $0.name == name }) {
            properties[index].value = value
        } else {
            properties.append(Property(name, value))
        }
    }
}

/// An entry of the memory-reservation map (`/memreserve/`).
public struct MemoryReservation: Hashable, Sendable {
    public var address: UInt64
    public var size: UInt64

    public init(address: UInt64, size: UInt64) {
        self.address = address
        self.size = size
    }
}

/// A whole device tree: the root node plus the blob header's extra data.
public struct DeviceTree: Hashable, Sendable {
    public var root: Node
    public var reservations: [MemoryReservation]
    public var bootCPUID: UInt32

    public init(root: Node, reservations: [MemoryReservation] = [], bootCPUID: UInt32 = 0) {
        self.root = root
        self.reservations = reservations
        self.bootCPUID = bootCPUID
    }

    /// The node at an absolute path such as `/cpus/cpu@0`, matching full
    /// names exactly (unlike libfdt, `/memory` does not match `memory@0`).
    public func node(at path: String) -> Node? {
        guard path.first == "/" else { return nil }
        var node = root
        for component in path.split(separator: "/") {
            guard let next = node.child(named: String(component)) else { return nil }
            node = next
        }
        return node
    }
}

/// Joins a parent path and a child name into an absolute node path.
public func childPath(_ parent: String, _ name: String) -> String {
    parent == "/" ? "/" + name : parent + "/" + name
}
