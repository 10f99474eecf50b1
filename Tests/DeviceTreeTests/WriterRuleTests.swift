import DeviceTree
import Testing

/// The writer refuses trees dtc would reject, naming the node.
@Suite struct WriterRuleTests {
    private func failure(_ tree: DeviceTree) -> DTBWriteError? {
        do {
            _ = try DTBWriter.write(tree)
            return nil
        } catch {
            return error
        }
    }

    private func root(_ children: [Node], properties: [Property] = []) -> DeviceTree {
        DeviceTree(root: Node("", properties: properties, children: children))
    }

    @Test func duplicateNodeNames() {
        #expect(failure(root([Node("a"), Node("a")])) == .duplicateNode(path: "/a"))
    }

    /// Long sibling lists are checked by hashing: the first repeat is
    /// found wherever it is, and names that differ only in the middle
    /// (as unit addresses do) are told apart.
    @Test func duplicateAmongManySiblings() {
        let names = (0..<40).map { "device@\(String(0x1000_0000 + 0x200 * $0, radix: 16))" }
        #expect(failure(root(names.map { Node($0) })) == nil)
        for (repeated, at) in [(0, 40), (39, 40), (17, 23)] {
            var children = names.map { Node($0) }
            children.insert(Node(names[repeated]), at: at)
            #expect(failure(root(children)) == .duplicateNode(path: "/" + names[repeated]))
        }
    }

    @Test func duplicatePropertyNames() {
        let tree = root([Node("a", properties: [Property("x", .empty), Property("x", .u32(1))])])
        #expect(failure(tree) == .duplicateProperty(path: "/a", name: "x"))
    }

    @Test func badNodeNames() {
        for name in ["", "with space", "a@b@c", "@1", "tab\there", "ünï"] {
            guard case .badNodeName = failure(root([Node(name)])) else {
                Issue.record("node name '\(name)' was accepted")
                continue
            }
        }
    }

    @Test func badPropertyNames() {
        for name in ["", "has space", "at@sign", "nul\0"] {
            guard case .badPropertyName = failure(root([], properties: [Property(name, .empty)])) else {
                Issue.record("property name '\(name)' was accepted")
                continue
            }
        }
    }

    @Test func rootMustBeUnnamed() {
        guard case .badNodeName(let path, _) = failure(DeviceTree(root: Node("root"))) else {
            Issue.record("a named root was accepted")
            return
        }
        #expect(path == "/")
    }

    @Test func labels() {
        guard case .badLabel = failure(root([Node("a", labels: ["9lives"])])) else {
            Issue.record("label starting with a digit was accepted")
            return
        }
        #expect(failure(root([Node("a", labels: ["x"]), Node("b", labels: ["x"])]))
            == .duplicateLabel(label: "x", paths: ["/a", "/b"]))
    }

    @Test func duplicatePhandles() {
        let tree = root([
            Node("a", properties: [Property("phandle", .u32(5))]),
            Node("b", properties: [Property("linux,phandle", .u32(5))]),
        ])
        #expect(failure(tree) == .duplicatePhandle(phandle: 5, paths: ["/a", "/b"]))
    }

    @Test func stringWithNulIsRefused() {
        guard case .shapeMismatch(let path, let property, _) = failure(root([], properties: [Property("s", .string("a\0b"))])) else {
            Issue.record("a string with NUL was accepted")
            return
        }
        #expect(path == "/" && property == "s")
    }

    @Test func shapeMustCoverBytes() {
        let broken = PropertyValue(bytes: [1, 2, 3, 4, 5], shape: [.cells(count: 1, phandles: [])])
        guard case .shapeMismatch = failure(root([], properties: [Property("v", broken)])) else {
            Issue.record("a shape shorter than the bytes was accepted")
            return
        }
        let badIndex = PropertyValue(bytes: [0, 0, 0, 1], shape: [.cells(count: 1, phandles: [3])])
        guard case .shapeMismatch = failure(root([], properties: [Property("v", badIndex)])) else {
            Issue.record("a phandle index outside the group was accepted")
            return
        }
    }

    @Test func depthLimit() {
        #expect(failure(SampleTrees.deep(DTBWriter.maxDepth)) == nil)
        guard case .tooDeep = failure(SampleTrees.deep(DTBWriter.maxDepth + 1)) else {
            Issue.record("a tree deeper than the limit was accepted")
            return
        }
    }

    @Test func errorMessagesNameTheNode() {
        #expect(DTBWriteError.duplicateNode(path: "/a/b").description == "two nodes named /a/b")
        #expect(DTBWriteError.duplicatePhandle(phandle: 0xfde9, paths: ["/x", "/y"]).description
            == "phandle 0xfde9 is on more than one node: /x, /y")
    }
}
