import XLConfig

/// Host- and version-dependent inputs of the guest tree: command-line
/// flags with documented defaults, never guesses.
public struct LayoutOptions: Sendable {
    /// `--xen-version X.Y` (default 4.22, accepted 4.17–4.22): selects that
    /// version's libxl rules and the version strings in the tree.
    public var xenVersion: XenVersion = .default
    /// `--gpaddr-bits N` (default 40, accepted `gpaddrBitsRange`): the
    /// host's guest-physical address width, which bounds extended regions.
    public var gpaddrBits: Int = 40
    /// `--host-gic v2|v3` (default v3): the GIC used when `gic_version` is
    /// unset or `default`.
    public var hostGIC: HostGIC = .v3
    /// `--timer-frequency HZ`: `clock-frequency` of the timer node; absent
    /// by default (Xen reports one only when the host's timer node has it).
    public var timerFrequency: UInt32?
    /// `--rng-seed HEX|random`: the 128 bytes of `/chosen/rng-seed`
    /// (`RNGSeed`); none by default, so the same input gives the same bytes.
    public var rngSeed: [UInt8]?
    /// `--arch arm64|arm32`: overrides the kernel image's architecture.
    public var arch: GuestArch?
    /// `--kernel-size BYTES` (default 32 MiB): the kernel's size when there
    /// is no kernel file; it is then assumed at the start of RAM (arm32:
    /// 0x8000 above it, where a zImage always loads).
    public var kernelSize: UInt64 = 32 << 20
    /// `--ramdisk-size BYTES`: the ramdisk's size when its file is missing.
    public var ramdiskSize: UInt64?
    /// The directory that relative `kernel`, `ramdisk` and `device_tree`
    /// paths resolve against; nil: the process's current directory, as xl.
    /// A caller that lays out guests from several threads sets it instead
    /// of changing the process-wide directory.
    public var workingDirectory: String?

    /// Widths libxl accepts (it refuses more than 64); Xen's are 32 to 52.
    public static let gpaddrBitsRange = 32...64

    public init() {}

    /// `path` as the layout opens it: relative paths under
    /// `workingDirectory` when one is set.
    func resolve(_ path: String) -> String {
        guard let workingDirectory, !path.hasPrefix("/") else { return path }
        return workingDirectory + "/" + path
    }
}

/// The host GIC version (`--host-gic`).
public enum HostGIC: String, Sendable, CaseIterable {
    case v2, v3
}

/// The guest kernel's architecture: decides `cpu` and `timer` compatibles.
public enum GuestArch: String, Sendable, CaseIterable {
    case arm64, arm32
}
