import ArgumentParser
import Diagnostics
import SystemIO
import VirtioRuntime

/// `grantdt inspect GUEST.dtb [--json]` and
/// `grantdt inspect --rid RID [--bridge PATH] GUEST.dtb`.
struct Inspect: GrantdtCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the DMA ops Linux gives each virtio-mmio device of a guest DTB.",
        discussion: """
            Prints one line per virtio,mmio node (base, size, GIC interrupt ID, \
            grant/iommu/bounce/direct, backend domid or pool) and the host bridges' \
            iommu-map rows, then checks the tree (diagnostics on stderr; in the JSON \
            with --json). With --rid, binds one PCI requester ID as Linux's of_map_id \
            does. Exit 1 when the tree has errors, 2 when the blob cannot be read.
            """
    )

    @Argument(help: "The guest device tree blob.")
    var input: String

    @Flag(help: "Print JSON on stdout, diagnostics included.")
    var json = false

    @Option(help: "Bind this PCI requester ID: 0x0008, or bus:dev.fn such as 00:01.0.")
    var rid: String?

    @Option(help: "The host bridge node for --rid; needed only when the tree has several.")
    var bridge: String?

    func execute() throws(CLIFailure) -> Int32 {
        guard bridge == nil || rid != nil else { throw CLIFailure("--bridge needs --rid") }
        let requester = try rid.map { text throws(CLIFailure) in
            guard let parsed = RequesterID(parsing: text) else {
                throw CLIFailure("invalid requester ID '\(text)': write 0x0008 or bus:dev.fn such as 00:01.0")
            }
            return parsed
        }
        let binder = Binder(tree: try readTree(input))
        if let requester { return try bind(requester, with: binder) }

        let diagnostics = TreeChecks.run(binder, file: input)
        if json {
            Console.out(InspectOutput.json(binder, diagnostics: diagnostics).serialized() + "\n")
        } else {
            Console.out(InspectOutput.text(binder))
            Console.error(diagnostics.map(DiagnosticText.render).joined())
        }
        return Diagnostic.exitCode(for: diagnostics)
    }

    /// `--rid`: the binding on stdout; the diagnostics about the chosen
    /// bridge (its iommu-map) on stderr, which also decide the exit code.
    private func bind(_ requester: RequesterID, with binder: Binder) throws(CLIFailure) -> Int32 {
        let binding: RIDBinding
        do { binding = try binder.bind(rid: requester, bridge: bridge) } catch { throw CLIFailure("\(input): \(error)") }
        let diagnostics = TreeChecks.run(binder, file: input).filter { $0.node == binding.bridge }
        Console.out(json ? InspectOutput.json(binding).serialized() + "\n" : InspectOutput.text(binding))
        Console.error(diagnostics.map(DiagnosticText.render).joined())
        return Diagnostic.exitCode(for: diagnostics)
    }
}

/// The text and JSON forms of `inspect`'s results.
enum InspectOutput {
    // MARK: JSON

    static func json(_ binder: Binder, diagnostics: [Diagnostic]) -> JSON {
        .object([
            ("devices", .array(binder.devices.map(json))),
            ("pci", .array(binder.pciBridges.map(json))),
            ("diagnostics", .array(diagnostics.map(\.json))),
        ])
    }

    static func json(_ device: DeviceBinding) -> JSON {
        let dma = device.state.dma
        var pool: String?
        if case .bounce(let path) = dma { pool = path }
        return .object([
            ("path", .string(device.path)),
            ("status", .string(device.state.status)),
            ("base", .optional(device.reg?.base)),
            ("size", .optional(device.reg?.size)),
            ("spi", .optional(device.spi.map(UInt64.init))),
            ("dma", .optional(dma?.kind)),
            ("backend", .optional(dma.flatMap(backend))),
            ("pool", .optional(pool)),
            ("pool_base", .optional(device.poolRange?.base)),
            ("pool_size", .optional(device.poolRange?.size)),
        ])
    }

    static func json(_ bridge: PCIBridge) -> JSON {
        .object([
            ("path", .string(bridge.path)),
            (
                "map",
                .array(
                    bridge.map.rows.map { row in
                        .object([
                            ("rid_base", .unsigned(UInt64(row.ridBase))),
                            ("length", .unsigned(UInt64(row.length))),
                            ("out_base", .unsigned(UInt64(row.outBase))),
                            ("dma", .string(row.dma.kind)),
                            ("backend", .optional(backend(row.dma))),
                        ])
                    })
            ),
        ])
    }

    static func json(_ binding: RIDBinding) -> JSON {
        .object([
            ("rid", .unsigned(UInt64(binding.rid.value))),
            ("bridge", .string(binding.bridge)),
            ("dma", .string(binding.dma.kind)),
            ("backend", .optional(backend(binding.dma))),
        ])
    }

    private static func backend(_ dma: DMABinding) -> UInt64? {
        if case .grant(let domid) = dma { UInt64(domid) } else { nil }
    }

    // MARK: Text

    static func text(_ binder: Binder) -> String {
        var text: String
        if binder.devices.isEmpty {
            text = "no virtio,mmio devices\n"
        } else {
            text = TextTable.render([["DEVICE", "BASE", "SIZE", "SPI", "DMA", "BACKEND"]] + binder.devices.map(row))
        }
        let bridges = binder.pciBridges.flatMap(rows)
        if !bridges.isEmpty {
            text += "\n" + TextTable.render([["PCI HOST BRIDGE", "RIDS", "MASK", "DMA", "BACKEND"]] + bridges)
        }
        return text
    }

    static func text(_ binding: RIDBinding) -> String {
        let rid = "\(binding.rid) (\(binding.rid.hexText)) via \(binding.bridge): "
        switch binding.lookup {
        case .noMap: return rid + "direct: the bridge has no iommu-map, so Linux cannot translate the ID\n"
        case .malformedMap(let reason): return rid + "direct: Linux rejects the iommu-map: \(reason)\n"
        case .rowOutsideMask(let row):
            return rid + "direct: the lookup fails at iommu-map row \(row), whose rid-base has bits outside iommu-map-mask\n"
        case .danglingTarget(let row, let phandle):
            return rid + "direct: iommu-map row \(row) holds it, but its phandle \(hex(phandle)) matches no node\n"
        case .noMatch(let masked): return rid + "direct: no iommu-map row holds RID \(hex(masked)) (after iommu-map-mask)\n"
        case .matched(let row, let masked, let output):
            let which = masked == UInt32(binding.rid.value) ? "RID" : "masked RID"
            let mapped = "iommu-map row \(row) maps \(which) \(hex(masked)) to \(output)"
            switch binding.dma {
            case .grant(let domid): return rid + "grant, backend \(domid) (\(mapped))\n"
            case .iommu(let path): return rid + "iommu \(path) (\(mapped))\n"
            case .bounce, .direct: return rid + "direct: \(mapped) at a node that is neither xen,grant-dma nor an IOMMU\n"
            }
        }
    }

    private static func row(_ device: DeviceBinding) -> [String] {
        let columns = [device.path, device.reg.map { hex($0.base) } ?? "-", device.reg.map { hex($0.size) } ?? "-", device.spi.map(String.init) ?? "-"]
        guard let dma = device.state.dma else { return columns + ["disabled", "-"] }
        let detail: String
        switch dma {
        case .grant(let domid): detail = String(domid)
        case .iommu(let path): detail = path
        case .bounce(let pool): detail = pool + (device.poolRange.map { " (\($0))" } ?? " (placed at boot)")
        case .direct: detail = "-"
        }
        return columns + [dma.kind, detail]
    }

    private static func rows(_ bridge: PCIBridge) -> [[String]] {
        let mask = hex(bridge.mask)
        switch bridge.map {
        case .absent: return [[bridge.path, "(no iommu-map)", mask, "direct", "-"]]
        case .malformed: return [[bridge.path, "(malformed iommu-map)", mask, "direct", "-"]]
        case .rows(let rows):
            return rows.map { row in
                let last = UInt64(row.ridBase) + UInt64(row.length) - 1
                let rids = switch row.length {
                case 0: "(none)"
                case 1: hex(row.ridBase)
                default: "\(hex(row.ridBase))-\(hex(last))"
                }
                let detail: String
                switch row.dma {
                case .grant(let domid): detail = row.length > 1 ? "\(domid) + (RID - \(hex(row.ridBase)))" : String(domid)
                case .iommu(let path): detail = path
                case .bounce, .direct: detail = row.target.map { "\($0) (not an IOMMU)" } ?? "(dangling phandle \(hex(row.phandle)))"
                }
                return [bridge.path, rids, mask, row.dma.kind, detail]
            }
        }
    }

    private static func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
}
