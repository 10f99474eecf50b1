import ArgumentParser
import DeviceTree
import Diagnostics
import Glibc
import SystemIO
import VirtioRuntime

/// `grantdt run GUEST.cfg|GUEST.dtb [compile options] [--disk PATH]...
/// [--requests N] [--queue-depth N] [--request-size BYTES]
/// [--grant-mode per-request|pool] [--hostile] [--json]`.
struct Run: GrantdtCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every virtio-mmio device of a guest end to end over the grant engine.",
        discussion: """
            A .cfg is compiled first (with every compile option) and its disks and \
            virtio,device2 entries get virtio-blk backends, other types a loopback \
            device; a backend of a device without grants may map guest memory, as it \
            must in Xen. Binds each enabled virtio,mmio node to the DMA ops Linux \
            gives it, serves it from a backend in its backend domain (virtio-blk on a \
            disk image, or, for a DTB alone, a loopback device for nodes with an i2c \
            or gpio child), runs a verified \
            read/write workload, tears everything down and reports per device. With \
            --hostile every backend also attacks. Exit 0 when every device verified and \
            nothing leaked (--hostile: every attack on a grant-bound device was refused \
            or contained), 1 otherwise or when the tree has errors, 2 for usage errors \
            and unreadable input.
            """
    )

    @Argument(help: "The guest: an xl.cfg file (compiled first) or a device tree blob.")
    var input: String

    @OptionGroup(title: "Compile options (for a .cfg input)")
    var compile: CompileOptions

    @Option(name: .customLong("disk"), help: ArgumentHelp(
        "Disk image of the next virtio-blk device in tree order (repeatable); 'memory' keeps it in memory. Default: a sparse temporary file.",
        valueName: "PATH"))
    var disks: [String] = []

    @Option(help: "Workload requests per device.")
    var requests = 1000

    @Option(name: .customLong("queue-depth"), help: "Requests each frontend keeps in flight.")
    var queueDepth = 8

    @Option(name: .customLong("request-size"), help: ArgumentHelp(
        "Bytes per request, a multiple of 512 (default: a mix of 512 B to 64 KiB).", valueName: "BYTES"))
    var requestSize: Int?

    @Option(name: .customLong("grant-mode"), help: "per-request (Linux's grant DMA ops) or pool.")
    var grantMode = "per-request"

    @Option(help: "Seed of the workload (sectors, sizes, data).")
    var seed: UInt64?

    @Flag(help: "Backends also attack; the report lists every attack and its outcome.")
    var hostile = false

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    func execute() throws(CLIFailure) -> Int32 {
        let options = try runOptions()
        let input: RunInput
        switch try RunInput.resolve(self.input, compile: compile) {
        case .runnable(let runnable): input = runnable
        case .refused(let diagnostics): return fail(with: diagnostics)
        }
        // A write past a file-size limit must fail with EFBIG, reported as
        // a full disk, rather than kill the process.
        signal(SIGXFSZ, SIG_IGN)
        let diagnostics = input.findings + TreeChecks.run(input.tree, file: self.input)
        guard Diagnostic.exitCode(for: diagnostics) == 0 else {
            return fail(with: diagnostics)
        }
        Console.error(diagnostics.map(DiagnosticText.render).joined())
        let progress = Console.errorIsTerminal && !json ? ProgressLine() : nil
        var withProgress = options
        if let progress {
            withProgress.progress = { @Sendable update in progress.show(update) }
        }
        let report: RunReport
        do {
            report = try VirtioRun.run(tree: input.tree, kinds: input.kinds, backends: input.backends, options: withProgress)
        } catch {
            progress?.clear()
            guard error.isInputError else { throw CLIFailure(error.description) }
            return fail(with: [RunRules.treeNotRunnable.about(file: self.input, error.description)])
        }
        progress?.clear()
        for device in report.devices {
            for message in device.errors { Console.error("grantdt: \(device.path): \(message)\n") }
        }
        Console.out(json ? RunOutput.json(report).serialized() + "\n" : RunOutput.text(report))
        return report.ok ? 0 : 1
    }

    /// The tree cannot be run: exit 1, diagnostics on stderr or in the JSON.
    private func fail(with diagnostics: [Diagnostic]) -> Int32 {
        if json {
            Console.out(JSON.object([
                ("ok", .bool(false)), ("devices", .array([])), ("diagnostics", .array(diagnostics.map(\.json))),
            ]).serialized() + "\n")
        } else {
            Console.error(diagnostics.map(DiagnosticText.render).joined())
        }
        return 1
    }

    private func runOptions() throws(CLIFailure) -> RunOptions {
        var options = RunOptions()
        options.requests = requests
        options.queueDepth = queueDepth
        if let requestSize { options.requestSize = .fixed(requestSize) }
        guard let mode = GrantMode(rawValue: grantMode) else {
            throw CLIFailure("--grant-mode must be per-request or pool, not '\(grantMode)'")
        }
        options.grantMode = mode
        options.disks = disks.map { $0 == "memory" ? .memory(bytes: DiskSource.defaultBytes) : .file($0) }
        options.hostile = hostile
        if let seed { options.seed = seed }
        do throws(RunError) { try options.validate() } catch { throw CLIFailure(error.description) }
        return options
    }
}

/// What `run` needs from its input: the tree, and per device what it is
/// and (when the input says) which domain serves it.
struct RunInput {
    let tree: DeviceTree
    let kinds: [String: DeviceKind]
    let backends: [String: UInt16]
    /// Warnings and notes from compiling a `.cfg` (none for a DTB).
    var findings: [Diagnostic] = []

    enum Resolution {
        case runnable(RunInput)
        /// The config has errors: nothing to run (exit 1).
        case refused([Diagnostic])
    }

    /// A `.cfg` is compiled: kinds come from the config (disks and
    /// `virtio,device2` are virtio-blk, other types loopback), and a device
    /// without grants is served by the backend the config names. Any other
    /// file is read as a DTB, with kinds inferred from the tree.
    static func resolve(_ path: String, compile: CompileOptions) throws(CLIFailure) -> Resolution {
        guard path.hasSuffix(".cfg") else {
            let tree = try readTree(path)
            return .runnable(RunInput(tree: tree, kinds: VirtioRun.kinds(inferredFrom: tree), backends: [:]))
        }
        let guest = try compile.flags.compileGuest(at: path)
        guard let tree = guest.tree else { return .refused(guest.diagnostics) }
        var kinds: [String: DeviceKind] = [:]
        var backends: [String: UInt16] = [:]
        for device in guest.devices {
            kinds[device.path] = device.virtioID == 2 ? .block : .loopback
            if !device.placement.request.grants {
                backends[device.path] = UInt16(clamping: device.placement.request.backend)
            }
        }
        return .runnable(RunInput(tree: tree, kinds: kinds, backends: backends, findings: guest.diagnostics))
    }
}

/// A progress line on stderr (a terminal only), redrawn at most ten times
/// a second. `@unchecked Sendable`: the run calls it from its one thread.
final class ProgressLine: @unchecked Sendable {
    private var last = 0.0

    func show(_ progress: RunProgress) {
        let now = Self.now()
        guard progress.completed == progress.total || now - last >= 0.1 else { return }
        last = now
        let width = 30
        let filled = progress.total > 0 ? progress.completed * width / progress.total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        Console.error("\r\u{1b}[K[\(progress.device + 1)/\(progress.devices)] \(progress.path) [\(bar)] \(progress.completed)/\(progress.total)")
    }

    func clear() { Console.error("\r\u{1b}[K") }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// The text and JSON forms of `run`'s report.
enum RunOutput {
    static func json(_ report: RunReport) -> JSON {
        var members: [(String, JSON)] = [("ok", .bool(report.ok)), ("devices", .array(report.devices.map(json)))]
        if report.hostile { members.append(("attacks", .array(report.attacks.map(json)))) }
        return .object(members)
    }

    static func json(_ device: DeviceReport) -> JSON {
        .object([
            ("path", .string(device.path)),
            ("dma", .string(device.dma.rawValue)),
            ("backend", .optional(device.backend.map(Int.init))),
            ("requests", .int(device.requests)),
            ("bytes", .int(device.bytes)),
            ("verified", .bool(device.verified)),
            ("grants_outstanding", .int(device.grantsOutstanding)),
            ("refused", .int(device.refused)),
            ("costs", .object([
                ("grant_ops", .double(rounded(device.costs.grantOps))),
                ("map_ops", .double(rounded(device.costs.mapOps))),
                ("unmap_ops", .double(rounded(device.costs.unmapOps))),
                ("flush_batches", .double(rounded(device.costs.flushBatches))),
                ("bytes_copied", .double(rounded(device.costs.bytesCopied))),
            ])),
        ])
    }

    static func json(_ attack: AttackReport) -> JSON {
        .object([
            ("device", .string(attack.device)),
            ("attack", .string(attack.attack.rawValue)),
            ("outcome", .string(attack.outcome.rawValue)),
            ("status", .optional(attack.status.map { Int($0.rawValue) })),
            ("status_name", .optional(attack.statusName)),
        ])
    }

    static func text(_ report: RunReport) -> String {
        var rows = [["DEVICE", "KIND", "DMA", "BACKEND", "REQUESTS", "BYTES", "VERIFIED", "GRANTS-OUT", "REFUSED"]]
        for device in report.devices {
            rows.append([
                device.path, device.kind.rawValue, device.dma.rawValue, device.backend.map(String.init) ?? "d\(device.servedBy)*",
                String(device.requests), String(device.bytes), device.verified ? "yes" : "NO",
                String(device.grantsOutstanding) + (device.broken ? " (broken, \(device.pagesLeaked) pages leaked)" : ""),
                String(device.refused),
            ])
        }
        var text = TextTable.render(rows)
        if report.devices.contains(where: { $0.backend == nil }) {
            text += "* the tree names no backend: served by this privileged domain (guest-physical addresses)\n"
        }
        var costs = [["DEVICE", "GRANT-OPS", "MAPS", "UNMAPS", "FLUSHES", "BYTES-COPIED"]]
        for device in report.devices {
            let model = device.costs
            costs.append([device.path] + [model.grantOps, model.mapOps, model.unmapOps, model.flushBatches, model.bytesCopied].map(decimal))
        }
        text += "\nper request:\n" + TextTable.render(costs)
        if report.hostile {
            var attacks = [["DEVICE", "ATTACK", "OUTCOME", "STATUS"]]
            for attack in report.attacks {
                attacks.append([attack.device, attack.attack.rawValue, attack.outcome.rawValue, attack.statusName ?? "-"])
            }
            text += "\n" + TextTable.render(attacks) + "\nwhat each attack tried:\n"
            for attack in report.attacks {
                text += "\(attack.device) \(attack.attack.rawValue): \(attack.detail)\n"
            }
        }
        text += "\n" + (report.ok ? "ok\n" : "FAILED\n")
        return text
    }

    private static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    private static func decimal(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = String(hundredths % 100)
        return "\(hundredths / 100)." + (fraction.count == 1 ? "0" + fraction : fraction)
    }

}
