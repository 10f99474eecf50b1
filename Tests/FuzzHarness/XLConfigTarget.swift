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
    /// libxl layout is a tree the checks accept).
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
            let errors = TreeChecks.run(tree, file: "guest.dtb").filter { $0.severity == .error }
            violations += errors.map { "the tree checks reject the layout's own tree: \($0.rule) \($0.message)" }
        }
        return violations
    }
}

enum XLConfigFuzzing {
    /// The running domains backend names resolve against.
    static let domains = DomainTable.parse(file: "fuzz.domains", text: Array("storage 1\nnet 2\ngpu 7\n".utf8)).table
    /// The ramdisk a config's `ramdisk=` stands for (what `--ramdisk-size 8M` says).
    static let ramdiskSize: UInt64 = 8 << 20
}
