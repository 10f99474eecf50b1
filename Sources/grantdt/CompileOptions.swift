import ArgumentParser
import GuestLayout
import XLConfig

/// The flags that turn an xl.cfg into a tree, shared by `compile`,
/// `validate` and `run`. Host- and version-dependent inputs are flags
/// with documented defaults, never guesses.
///
/// Every value is taken as text and checked by `CompileFlags.settings()`: a bad value
/// is one line and exit 2, with our wording. Plain `String?` options also
/// keep start-up cheap: argument-parser instantiates each distinct option
/// type at run time, and these share one.
struct CompileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Xen version whose xl and libxl to reproduce: 4.17 to 4.22 (default 4.22).", valueName: "X.Y"))
    var xenVersion: String?

    @Option(help: ArgumentHelp("The host's guest-physical address width, which bounds extended regions (default 40, 32 to 64).", valueName: "N"))
    var gpaddrBits: String?

    @Option(help: ArgumentHelp("The host's GIC, used when gic_version is unset or \"default\": v2 or v3 (default v3).", valueName: "v2|v3"))
    var hostGic: String?

    @Option(help: ArgumentHelp("Write this timer clock-frequency (Hz); absent by default, as on hosts whose timer node has none.", valueName: "HZ"))
    var timerFrequency: String?

    @Option(help: ArgumentHelp("Write /chosen/rng-seed: exactly 256 hex digits, or 'random'. None by default, so output is reproducible.", valueName: "HEX|random"))
    var rngSeed: String?

    @Option(help: ArgumentHelp("The guest kernel's architecture when no kernel file says it, or to override it.", valueName: "arm64|arm32"))
    var arch: String?

    @Option(help: ArgumentHelp("Kernel size when the kernel file is missing (default 32M). Bytes, 0x hex, or with a K, M or G suffix.", valueName: "BYTES"))
    var kernelSize: String?

    @Option(help: ArgumentHelp("Ramdisk size when the ramdisk file is missing; without it a missing ramdisk is an error.", valueName: "BYTES"))
    var ramdiskSize: String?

    @Option(help: ArgumentHelp("Resolve backend domain names: one 'NAME DOMID' per line.", valueName: "FILE"))
    var domains: String?

    @Option(help: ArgumentHelp("Use this layout template instead of the built-in libxl one (templates/README.md).", valueName: "FILE"))
    var template: String?

    @Flag(help: "Treat warnings as errors (notes stay notes).")
    var werror = false

    /// The values as given, for `CompileFlags.settings()` to check.
    var flags: CompileFlags {
        CompileFlags(
            xenVersion: xenVersion, gpaddrBits: gpaddrBits, hostGic: hostGic, timerFrequency: timerFrequency,
            rngSeed: rngSeed, arch: arch, kernelSize: kernelSize, ramdiskSize: ramdiskSize, domains: domains,
            template: template, werror: werror)
    }
}

/// The values of `CompileOptions` as given on the command line, unchecked:
/// what argument-parser and `PlainCommandLine` both produce.
struct CompileFlags: Equatable {
    var xenVersion: String?
    var gpaddrBits: String?
    var hostGic: String?
    var timerFrequency: String?
    var rngSeed: String?
    var arch: String?
    var kernelSize: String?
    var ramdiskSize: String?
    var domains: String?
    var template: String?
    var werror = false

    /// The checked values, or a one-line usage failure.
    func settings() throws(CLIFailure) -> CompileSettings {
        var layout = LayoutOptions()
        if let text = xenVersion {
            guard let version = XenVersion(text) else {
                throw CLIFailure("invalid --xen-version '\(text)': give X.Y from 4.17 to 4.22")
            }
            layout.xenVersion = version
        }
        if let text = gpaddrBits {
            let range = LayoutOptions.gpaddrBitsRange
            guard let bits = Int(text), range.contains(bits) else {
                throw CLIFailure("invalid --gpaddr-bits '\(text)': give a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            layout.gpaddrBits = bits
        }
        if let text = hostGic {
            guard let gic = HostGIC(rawValue: text) else { throw CLIFailure("invalid --host-gic '\(text)': give v2 or v3") }
            layout.hostGIC = gic
        }
        if let text = timerFrequency {
            guard let hertz = UInt32(text), hertz > 0 else {
                throw CLIFailure("invalid --timer-frequency '\(text)': give the frequency in Hz, 1 to \(UInt32.max)")
            }
            layout.timerFrequency = hertz
        }
        if let text = rngSeed { layout.rngSeed = try Self.seed(text) }
        if let text = arch {
            guard let arch = GuestArch(rawValue: text) else { throw CLIFailure("invalid --arch '\(text)': give arm64 or arm32") }
            layout.arch = arch
        }
        if let text = kernelSize { layout.kernelSize = try ByteSize.parse(text, flag: "--kernel-size") }
        if let text = ramdiskSize { layout.ramdiskSize = try ByteSize.parse(text, flag: "--ramdisk-size") }
        return CompileSettings(layout: layout, domainsPath: domains, templatePath: template, werror: werror)
    }

    private static func seed(_ text: String) throws(CLIFailure) -> [UInt8] {
        if text == "random" {
            do { return try RNGSeed.random() } catch { throw CLIFailure("--rng-seed random: \(error)") }
        }
        guard let bytes = RNGSeed.parse(text) else {
            let length = text.utf8.count
            let problem = length == 2 * RNGSeed.size ? "it has a character that is not a hex digit" : "it has \(length) characters"
            throw CLIFailure("invalid --rng-seed: give exactly \(2 * RNGSeed.size) hex digits (\(RNGSeed.size) bytes) or 'random'; \(problem)")
        }
        return bytes
    }
}

/// `CompileOptions` once checked.
struct CompileSettings {
    var layout: LayoutOptions
    var domainsPath: String?
    var templatePath: String?
    var werror: Bool
}

/// `--kernel-size` and `--ramdisk-size` values: decimal or `0x` hex bytes,
/// optionally with a binary suffix `K`, `M` or `G` (KiB, MiB, GiB).
enum ByteSize {
    static func parse(_ text: String, flag: String) throws(CLIFailure) -> UInt64 {
        guard let value = value(text), value > 0 else {
            throw CLIFailure("invalid \(flag) '\(text)': give a size in bytes above 0, such as 8388608, 0x800000 or 8M")
        }
        return value
    }

    static func value(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var shift: UInt64 = 0
        if let last = digits.last, let power = ["K": 10, "M": 20, "G": 30][String(last).uppercased()] {
            shift = UInt64(power)
            digits = digits.dropLast()
        }
        let radix = digits.hasPrefix("0x") ? 16 : 10
        if radix == 16 { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }), let number = UInt64(digits, radix: radix) else {
            return nil
        }
        let (scaled, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : scaled
    }
}
