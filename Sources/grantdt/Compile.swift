import ArgumentParser
import DeviceTree
import Synchronization
import SystemIO

/// `grantdt compile GUEST.cfg -o OUT.dtb [--dts OUT.dts] [--json]` and
/// `grantdt compile A.cfg B.cfg ... --out-dir DIR`.
struct Compile: GrantdtCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Compile xl.cfg guest configs into the device tree blobs libxl builds.",
        discussion: """
            Diagnostics go to stderr (PATH:LINE:COL: error[RULE]: message, the line, \
            a caret and a hint), or to stdout as validate's JSON with --json. Outputs \
            are written to a temporary file put in place in one step (linked in, or renamed \
            over an existing file): on any error existing files \
            stay as they were and no new one appears. With --out-dir, each config is \
            compiled on its own into DIR/<name>.dtb (a .cfg suffix dropped), and a \
            directory stands for its top-level *.cfg files. Exit 0 \
            without errors (warnings and notes allowed), 1 with errors, 2 for usage \
            errors and unreadable files.
            """
    )

    @Argument(help: ArgumentHelp("The guest configs; with --out-dir, a directory means its *.cfg files.", valueName: "GUEST.cfg"))
    var configs: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the blob here.", valueName: "OUT.dtb"))
    var output: String?

    @Option(help: ArgumentHelp("Write the labelled DTS here (dtc builds the same tree from it).", valueName: "OUT.dts"))
    var dts: String?

    @Option(help: ArgumentHelp("Compile every config into DIR/<name>.dtb (DIR is created if missing).", valueName: "DIR"))
    var outDir: String?

    @Flag(help: "Print the diagnostics on stdout as validate's JSON.")
    var json = false

    @OptionGroup var options: CompileOptions

    /// What this command line asks for.
    var request: CompileRequest {
        CompileRequest(configs: configs, output: output, dts: dts, outDir: outDir, json: json, flags: options.flags)
    }

    func execute() throws(CLIFailure) -> Int32 { try request.execute() }
}

/// A parsed `compile` command line (from argument-parser or
/// `PlainCommandLine`), and the compilation it asks for.
struct CompileRequest: Equatable {
    var configs: [String] = []
    var output: String?
    var dts: String?
    var outDir: String?
    var json = false
    var flags = CompileFlags()

    func execute() throws(CLIFailure) -> Int32 {
        let targets = try plan()
        let (compiler, inputs) = try GuestCompiler.prepare(try flags.settings())
        var reporter = Reporter(json: json)
        guard let compiler else {
            inputs.forEach { reporter.add($0) }
            return reporter.finish()
        }
        // An error in the --domains file fails the run: write nothing.
        let writes = inputs.allSatisfy { $0.exitCode == 0 }
        guard let outDir else {
            // One guest: an unreadable config or an unwritable output is a
            // plain exit-2 failure, before anything is printed.
            let guest = try compiler.compile(targets[0].config)
            if writes { try Self.write(guest, to: targets[0].outputs) }
            inputs.forEach { reporter.add($0) }
            reporter.add(guest.report)
            return reporter.finish()
        }
        do { try FileSystem.makeDirectory(outDir) } catch { throw CLIFailure("\(error)") }
        inputs.forEach { reporter.add($0) }
        // Guests are independent: compile them on every core and report
        // each in the configs' order as soon as those before it are done,
        // so output is the same as one by one and text diagnostics come
        // while the run goes on.
        let shared = Mutex(reporter)
        targets.concurrentForEachInOrder { target in
            Self.compile(target.config, with: compiler, writing: writes ? target.outputs : nil)
        } deliver: { outcome in
            shared.withLock { reporter in
                if let report = outcome.report { reporter.add(report) }
                if let failure = outcome.failure { reporter.add(failure) }
            }
        }
        return shared.withLock { $0.finish() }
    }

    /// What became of one guest of an `--out-dir` run: its findings, and the
    /// failure that stopped it (an unreadable config, an unwritable output).
    private struct Outcome: Sendable {
        var report: FileReport?
        var failure: CLIFailure?
    }

    /// Compiles one guest and, when `outputs` is given, writes it.
    private static func compile(_ config: String, with compiler: GuestCompiler, writing outputs: Outputs?) -> Outcome {
        var outcome = Outcome()
        do throws(CLIFailure) {
            let guest = try compiler.compile(config)
            outcome.report = guest.report
            if let outputs { try write(guest, to: outputs) }
        } catch {
            outcome.failure = error
        }
        return outcome
    }

    /// Where a config's blob and DTS go.
    struct Outputs: Sendable {
        var blob: String?
        var dts: String?
    }

    /// Each config with its outputs, or the usage error.
    private func plan() throws(CLIFailure) -> [(config: String, outputs: Outputs)] {
        guard !configs.isEmpty else { throw CLIFailure("compile needs a GUEST.cfg") }
        guard let outDir else {
            guard configs.count == 1 else { throw CLIFailure("\(configs.count) configs need --out-dir DIR (-o names one blob)") }
            guard output != nil || dts != nil else { throw CLIFailure("say where to write: -o OUT.dtb and/or --dts OUT.dts, or --out-dir DIR") }
            if let output, output == dts { throw CLIFailure("-o and --dts both name '\(output)'") }
            return [(configs[0], Outputs(blob: output, dts: dts))]
        }
        guard output == nil, dts == nil else { throw CLIFailure("-o and --dts name one file: use them without --out-dir") }
        // A directory stands for its top-level *.cfg files, as in validate:
        // thousands of guests need no thousands of arguments.
        var expanded: [String] = []
        for config in configs {
            expanded += FileSystem.isDirectory(config) ? try InputFiles.inDirectory(config, suffixes: [".cfg"]) : [config]
        }
        // This runs before any guest starts, on one core: suffixes are
        // compared as bytes and the table is sized once.
        var seen: [String: String] = [:]
        seen.reserveCapacity(expanded.count)
        let prefix = outDir + "/"
        let targets = try expanded.map { config throws(CLIFailure) in
            let name = Self.blobName(config)
            if let earlier = seen.updateValue(config, forKey: name) {
                throw CLIFailure("'\(earlier)' and '\(config)' would both write \(outDir)/\(name)")
            }
            return (config, Outputs(blob: prefix + name, dts: nil))
        }
        return targets
    }

    /// `guest.cfg` → `guest.dtb`; any other name gets `.dtb` appended.
    static func blobName(_ config: String) -> String {
        var name = FileSystem.baseName(config)
        return name.withUTF8 { name in
            let stem = name.count > 4 && name.suffix(4).elementsEqual(".cfg".utf8) ? name.dropLast(4) : name[...]
            return String(decoding: UnsafeBufferPointer(rebasing: stem), as: UTF8.self) + ".dtb"
        }
    }

    /// Writes a guest's outputs when it compiled without errors: every
    /// output is staged before any is put in place.
    private static func write(_ guest: CompiledGuest, to outputs: Outputs) throws(CLIFailure) {
        guard let tree = guest.tree else { return }
        var contents: [(path: String, bytes: [UInt8])] = []
        if let path = outputs.blob {
            // The layout's trees are valid by construction; say so if not.
            do { contents.append((path, try DTBWriter.write(tree))) } catch {
                throw CLIFailure("\(guest.report.path): internal error: the compiled tree cannot be written: \(error)")
            }
        }
        if let path = outputs.dts { contents.append((path, Array(DTSPrinter.print(tree).utf8))) }
        do throws(IOError) {
            let staged = try contents.map { output throws(IOError) in try StagedFile(output.bytes, for: output.path) }
            for file in staged { try file.commit() }
        } catch {
            throw CLIFailure("\(error)")
        }
    }
}
