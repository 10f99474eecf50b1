import DeviceTree
import Diagnostics
import GuestLayout
import SystemIO
import XLConfig

/// The pipeline from an xl.cfg path to a guest tree, shared by `compile`,
/// `validate` and `run`: read the config, run the xl front end with the
/// `--domains` table, lay the guest out with the template. All file
/// reading and the mapping of its failures to exit 2 happen here.
///
///     let (compiler, inputs) = try GuestCompiler.prepare(flags.settings())
///     // report `inputs` (findings about --domains and --template files);
///     // compiler is nil when the template is unusable
///     let guest = try compiler.compile("guest.cfg")
///
/// `CompileFlags.compileGuest(at:)` does both for a single config.
struct GuestCompiler {
    let xl: XLOptions
    let layout: LayoutOptions
    let template: Template
    let werror: Bool

    /// Reads the `--domains` and `--template` files once, for any number
    /// of guests. An unreadable file throws (exit 2); findings in them are
    /// returned per file, and the compiler is nil when the template has
    /// errors or no rules for the chosen Xen version.
    static func prepare(_ settings: CompileSettings) throws(CLIFailure) -> (compiler: GuestCompiler?, inputs: [FileReport]) {
        var inputs: [FileReport] = []
        var domains: DomainTable?
        if let path = settings.domainsPath {
            let parsed = DomainTable.parse(file: path, text: try readInput(path))
            domains = parsed.table
            inputs.append(FileReport(path: path, diagnostics: parsed.diagnostics, werror: settings.werror))
        }
        var template = Template.builtin
        if let path = settings.templatePath {
            let read: (template: Template?, diagnostics: [Diagnostic])
            do { read = try Template.read(from: path) } catch { throw CLIFailure("\(error)") }
            var diagnostics = read.diagnostics
            if let loaded = read.template, let finding = loaded.versionFinding(for: settings.layout.xenVersion, file: path) {
                diagnostics.append(finding)
            }
            inputs.append(FileReport(path: path, diagnostics: diagnostics, werror: settings.werror))
            guard let loaded = read.template, !diagnostics.contains(where: { $0.severity == .error }) else { return (nil, inputs) }
            template = loaded
        }
        let compiler = GuestCompiler(
            xl: XLOptions(xenVersion: settings.layout.xenVersion, domains: domains), layout: settings.layout,
            template: template, werror: settings.werror)
        return (compiler, inputs)
    }

    /// Compiles one config. Only an unreadable config throws; everything
    /// wrong inside it is a diagnostic. Layout runs even after front-end
    /// errors (the front end leaves out what it refused), so one run shows
    /// every problem; the tree is kept only when there is no error.
    func compile(_ path: String) throws(CLIFailure) -> CompiledGuest {
        compile(path, text: try Self.readInput(path))
    }

    /// Compiles a config already read; `path` names it in diagnostics.
    func compile(_ path: String, text: [UInt8]) -> CompiledGuest {
        let read = XLConfigReader.read(file: path, text: text, options: xl)
        var diagnostics = read.diagnostics
        var laidOut: LayoutResult?
        if let guest = read.guest {
            let result = GuestLayoutBuilder.compile(guest, options: layout, template: template)
            diagnostics += result.diagnostics
            laidOut = result
        }
        let report = FileReport(path: path, diagnostics: Self.inReadingOrder(diagnostics, file: path), werror: werror)
        return CompiledGuest(report: report, layout: laidOut)
    }

    /// Front-end and layout findings merged: those about the config by
    /// line and column (findings about the whole file first), then those
    /// about other files (the partial device tree) in their order.
    static func inReadingOrder(_ diagnostics: [Diagnostic], file: String) -> [Diagnostic] {
        diagnostics.enumerated().sorted { lhs, rhs in
            let left = (lhs.element.file == file ? 0 : 1, lhs.element.line ?? 0, lhs.element.column ?? 0, lhs.offset)
            let right = (rhs.element.file == file ? 0 : 1, rhs.element.line ?? 0, rhs.element.column ?? 0, rhs.offset)
            return left < right
        }.map(\.element)
    }

    /// A whole input file (config, `--domains`), or exit 2 naming it.
    static func readInput(_ path: String) throws(CLIFailure) -> [UInt8] {
        do { return try FileSystem.readFile(path, limit: 64 << 20) } catch { throw CLIFailure("\(error)") }
    }
}

extension CompileFlags {
    /// One config through the whole pipeline, for a command that handles
    /// one guest (`run`): findings about the `--domains` and `--template`
    /// files come first in the guest's report (each names its own file).
    /// Throws a one-line failure (exit 2) for a bad flag value or an
    /// unreadable file.
    func compileGuest(at path: String) throws(CLIFailure) -> CompiledGuest {
        let settings = try settings()
        let (compiler, inputs) = try GuestCompiler.prepare(settings)
        let inputFindings = inputs.flatMap(\.diagnostics)
        guard let compiler else {
            return CompiledGuest(report: FileReport(path: path, diagnostics: inputFindings, werror: false), layout: nil)
        }
        let guest = try compiler.compile(path)
        guard !inputFindings.isEmpty else { return guest }
        let report = FileReport(path: path, diagnostics: inputFindings + guest.report.diagnostics, werror: false)
        return CompiledGuest(report: report, layout: guest.tree.map { LayoutResult(tree: $0, diagnostics: [], summary: guest.summary) })
    }
}

/// Findings about one input file: the unit of validate's JSON and of exit codes.
struct FileReport {
    let path: String
    /// In order; with `--werror`, warnings already raised to errors.
    let diagnostics: [Diagnostic]

    init(path: String, diagnostics: [Diagnostic], werror: Bool) {
        self.path = path
        self.diagnostics = werror ? diagnostics.map { $0.promotingWarning(true) } : diagnostics
    }

    /// 1 when any finding is an error, else 0.
    var exitCode: Int32 { Diagnostic.exitCode(for: diagnostics) }
}

/// A compiled guest: its findings, and when there is no error, the tree
/// and what the layout decided.
struct CompiledGuest {
    let report: FileReport
    /// The finalised, labelled tree; nil when the report has an error.
    let tree: DeviceTree?
    /// What the layout decided; nil exactly when `tree` is.
    let summary: LayoutSummary?

    /// Keeps the layout's tree and summary only when `report` has no error
    /// (after `--werror`): a guest with errors has no output.
    init(report: FileReport, layout: LayoutResult?) {
        self.report = report
        let usable = report.exitCode == 0 && layout?.tree != nil && layout?.summary != nil
        tree = usable ? layout?.tree : nil
        summary = usable ? layout?.summary : nil
    }

    var diagnostics: [Diagnostic] { report.diagnostics }

    /// The virtio-mmio devices in tree order (empty without a tree).
    var devices: [GuestDevice] { summary?.devices.map(GuestDevice.init) ?? [] }
}

/// A virtio-mmio device of a compiled guest, as a runtime needs it.
struct GuestDevice: Hashable {
    /// The node path, `/virtio@2000000`.
    let path: String
    /// The virtio device ID: 2 (block) for a virtio disk; for a `virtio=`
    /// entry the hex number of `virtio,device<N>`, nil when it names none.
    let virtioID: UInt32?
    /// Kind, backend domid, whether it uses grants, base and SPI.
    let placement: PlacedDevice

    init(_ placement: PlacedDevice) {
        self.placement = placement
        path = "/virtio@" + String(placement.slot.base, radix: 16)
        switch placement.request.kind {
        case .disk: virtioID = 2
        case .device:
            let type = placement.request.type ?? ""
            virtioID = type.hasPrefix("virtio,device") ? UInt32(type.dropFirst("virtio,device".count), radix: 16) : nil
        }
    }
}
