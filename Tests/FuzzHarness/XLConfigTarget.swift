import Diagnostics
import GuestLayout
import VirtioRuntime
import XLConfig

extension FuzzTarget {
    /// `grantdt validate`/`compile` on an arbitrary xl.cfg: the front end
    /// (libxlu's lexer and grammar, xl's key readers, the `disk=` and
    /// `virtio=` spec lexers, backend names through a domains table), then
    /// the whole layout with an assumed kernel and ramdisk (no file named
    /// in the config is read: a fuzzed path could name a device that never
    /// ends), the writer and grantdt's own tree checks. The Xen version
    /// follows the input's length, so every version's rules run.
    ///
    /// Properties: every diagnostic renders as its lines; a layout gives a
    /// tree exactly when it reports no error, and that tree is written,
    /// reads back equal, and passes the tree checks without an error (a
    /// libxl layout is a tree the checks accept), except for a problem the
    /// compile already warned about (`XLConfigFuzzing.announcedBy`).
    public static let xlConfig = FuzzTarget(name: "xlcfg", input: .bytes) { bytes in
        let version = XenVersion.supported[bytes.count % XenVersion.supported.count]
        let read = XLConfigReader.read(
            file: "fuzz.cfg", text: bytes, options: XLOptions(xenVersion: version, domains: XLConfigFuzzing.domains))
        var violations = Invariants.diagnostics(read.diagnostics)
        guard let guest = read.guest else { return violations }
        var options = LayoutOptions()
        options.xenVersion = version
        // libxl loads a ramdisk only when the path is non-empty.
        let ramdisk = guest.ramdisk?.value.isEmpty == false ? XLConfigFuzzing.ramdiskSize : nil
        let inputs = GuestInputs(kernel: Invariants.assumedKernel, ramdiskSize: ramdisk)
        let result = GuestLayoutBuilder.build(guest, inputs: inputs, options: options)
        violations += Invariants.layout(result)
        if let tree = result.tree {
            let warned = Set((read.diagnostics + result.diagnostics).map(\.rule))
            let errors = TreeChecks.run(tree, file: "guest.dtb").filter { finding in
                finding.severity == .error && !warned.contains(XLConfigFuzzing.announcedBy[finding.rule] ?? "")
            }
            violations += errors.map { "the tree checks reject the layout's own tree: \($0.rule) \($0.message)" }
        }
        return violations
    }
}

enum XLConfigFuzzing {
    /// The running domains backend names resolve against.
    static let domains = DomainTable.parse(file: "fuzz.domains", text: Array("storage 1\nnet 2\ngpu 7\n".utf8)).table
    /// Tree-check errors that a compile announces with a warning of its
    /// own: xl accepts the config and libxl builds that tree, so grantdt
    /// compiles it too (exit 0, the warning on stderr), and `validate` or
    /// `inspect` of the blob reports the error. Found by fuzzing
    /// (Fuzz/corpus/xlcfg/crash-0939634d…: `backend=` with 113 digits,
    /// which strtoul saturates to domid 0xffffffff).
    static let announcedBy = [TreeRules.domidRange.id: XLRules.backendRange.id]
    /// The ramdisk a config's `ramdisk=` stands for (what `--ramdisk-size 8M` says).
    static let ramdiskSize: UInt64 = 8 << 20
}
