import DeviceTree
import Diagnostics
import GuestLayout
import VirtioRuntime

/// Properties shared by the targets. Each returns the violations it found.
enum Invariants {
    /// A line the CLI prints (an error reason, one line of a rendered
    /// diagnostic): non-empty, no line break, no control character that a
    /// terminal would act on.
    static func oneLine(_ text: String, _ what: String) -> [String] {
        if text.isEmpty { return ["\(what) is empty"] }
        guard let bad = text.unicodeScalars.first(where: Printable.isControl) else { return [] }
        return ["\(what) contains control character U+\(String(bad.value, radix: 16)): \(text.debugDescription)"]
    }

    /// Reads a blob as every command does; a refusal must come with a
    /// one-line reason (the CLI prints it after `grantdt: error:`).
    static func readBlob(_ bytes: [UInt8]) -> (tree: DeviceTree?, violations: [String]) {
        do throws(DTBError) {
            return (try DTBReader.read(bytes), [])
        } catch {
            return (nil, oneLine(error.description, "DTBReader error"))
        }
    }

    /// Every diagnostic serialises, and renders as the text format's lines
    /// (message, then source line and caret when it has them, then hint)
    /// with no control character a terminal would act on.
    static func diagnostics(_ diagnostics: [Diagnostic]) -> [String] {
        diagnostics.flatMap { diagnostic -> [String] in
            _ = diagnostic.json.serialized()
            let text = DiagnosticText.render(diagnostic)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            let expected = 1 + (diagnostic.sourceLine != nil && diagnostic.line != nil ? 2 : 0) + (diagnostic.hint != nil ? 1 : 0)
            let name = "diagnostic \(diagnostic.rule)"
            guard text.last == "\n", lines.count == expected else {
                return ["\(name) renders as \(lines.count) lines, not \(expected): \(text.debugDescription)"]
            }
            return lines.flatMap { oneLine(String($0), "\(name) text") }
        }
    }

    /// A tree the writer accepts comes back unchanged from its own blob,
    /// and writing is deterministic. Labels never reach a blob, so they are
    /// compared away.
    static func roundTrip(_ tree: DeviceTree, blob: [UInt8]) -> [String] {
        let again: DeviceTree
        do {
            again = try DTBReader.read(blob)
        } catch {
            return ["DTBReader refuses DTBWriter's blob: \(error)"]
        }
        var violations: [String] = []
        if again != unlabelled(tree) { violations.append("a written tree reads back different") }
        if (try? DTBWriter.write(again)) != blob { violations.append("writing the same tree twice gives different bytes") }
        return violations
    }

    static func unlabelled(_ tree: DeviceTree) -> DeviceTree {
        var copy = tree
        copy.root = unlabelled(tree.root)
        return copy
    }

    private static func unlabelled(_ node: Node) -> Node {
        Node(node.name, properties: node.properties, children: node.children.map(unlabelled))
    }

    /// The kernel the layout targets assume: what `--kernel-size` assumes
    /// by default (32 MiB of arm64 Image at the RAM base), so no file is read.
    static let assumedKernel = KernelImage(arch: .arm64, loadOffset: 0, size: 32 << 20)

    /// A layout gives a tree exactly when it reports no error; its
    /// diagnostics render properly; a tree it gives can be written (libxl
    /// would have built that blob) and reads back equal.
    static func layout(_ result: LayoutResult) -> [String] {
        var violations = diagnostics(result.diagnostics)
        guard let tree = result.tree else {
            if !result.hasErrors { violations.append("the layout gave no tree but reported no error") }
            return violations
        }
        if result.hasErrors { violations.append("the layout gave a tree although it reported an error") }
        _ = DTSPrinter.print(tree)
        violations += diagnostics(TreeChecks.run(tree, file: "guest.dtb"))
        do {
            violations += roundTrip(tree, blob: try DTBWriter.write(tree))
        } catch {
            violations.append("the layout gave a tree that cannot be written: \(error)")
        }
        return violations
    }
}
