import ArgumentParser
import DeviceTree
import SystemIO
import VirtioRuntime

/// `grantdt validate PATH... [--json]`: checks configs and blobs, writes nothing.
struct Validate: GrantdtCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check xl.cfg guest configs and guest DTBs without writing anything.",
        discussion: """
            A config goes through the whole compiler (front end and layout, the same \
            flags as compile); a device tree blob (.dtb, or any file with the blob \
            magic) gets the tree checks of inspect. A directory means its top-level \
            *.cfg and *.dtb files in sorted order. Exit code: the highest of the \
            files' (0 clean or warnings and notes only, 1 errors, 2 unreadable).
            """
    )

    @Argument(help: ArgumentHelp("Configs, blobs and directories of them.", valueName: "PATH"))
    var paths: [String] = []

    @Flag(help: "Print {\"files\": [{\"path\", \"diagnostics\"}]} on stdout instead of text on stderr.")
    var json = false

    @OptionGroup var options: CompileOptions

    /// What this command line asks for.
    var request: ValidateRequest { ValidateRequest(paths: paths, json: json, flags: options.flags) }

    func execute() throws(CLIFailure) -> Int32 { try request.execute() }
}

/// A parsed `validate` command line (from argument-parser or
/// `PlainCommandLine`), and the checks it asks for.
struct ValidateRequest: Equatable {
    var paths: [String] = []
    var json = false
    var flags = CompileFlags()

    func execute() throws(CLIFailure) -> Int32 {
        guard !paths.isEmpty else { throw CLIFailure("validate needs a PATH (a config, a blob or a directory)") }
        let settings = try flags.settings()
        let (compiler, inputs) = try GuestCompiler.prepare(settings)
        var reporter = Reporter(json: json)
        inputs.forEach { reporter.add($0) }
        for path in paths {
            guard FileSystem.isDirectory(path) else {
                check(path, compiler: compiler, werror: settings.werror, into: &reporter)
                continue
            }
            do throws(CLIFailure) {
                for file in try InputFiles.inDirectory(path, suffixes: [".cfg", ".dtb"]) { check(file, compiler: compiler, werror: settings.werror, into: &reporter) }
            } catch {
                reporter.add(error)
            }
        }
        return reporter.finish()
    }

    private func check(_ path: String, compiler: GuestCompiler?, werror: Bool, into reporter: inout Reporter) {
        do throws(CLIFailure) {
            let bytes = try GuestCompiler.readInput(path)
            if path.hasSuffix(".dtb") || bytes.starts(with: Self.blobMagic) {
                let tree = try parseTree(bytes, path: path)
                reporter.add(FileReport(path: path, diagnostics: TreeChecks.run(tree, file: path), werror: werror))
            } else if let compiler {
                reporter.add(compiler.compile(path, text: bytes).report)
            }
            // Without a compiler, the template's errors are reported already.
        } catch {
            reporter.add(error)
        }
    }

    /// The first bytes of every device tree blob (big-endian 0xd00dfeed).
    private static let blobMagic: [UInt8] = [0xd0, 0x0d, 0xfe, 0xed]
}
