import XLConfig

/// Host- and version-dependent inputs of the guest tree: command-line
/// flags with documented defaults, never guesses.
public struct LayoutOptions: Sendable {
    /// `--xen-version`: selects that version's libxl rules and version strings.
    public var xenVersion: XenVersion = .default
    /// `--gpaddr-bits`: the host's guest-physical address width (extended regions).
    public var gpaddrBits: Int = 40
    /// `--host-gic`: the GIC used when `gic_version` is unset or `default`.
    public var hostGIC: HostGIC = .v3
    /// `--timer-frequency`: `clock-frequency` of the timer node; absent by default.
    public var timerFrequency: UInt32?
    /// `--rng-seed`: 128 bytes for `/chosen/rng-seed`; none by default (deterministic output).
    public var rngSeed: [UInt8]?
    /// `--arch`: overrides the kernel image's detected architecture.
    public var arch: GuestArch?
    /// `--kernel-size`: kernel size when there is no kernel file (loaded at the RAM base).
    public var kernelSize: UInt64 = 32 << 20
    /// `--ramdisk-size`: ramdisk size when the ramdisk file is missing.
    public var ramdiskSize: UInt64?

    public init() {}
}

/// The host GIC version (`--host-gic`).
public enum HostGIC: String, Sendable, CaseIterable {
    case v2, v3
}

/// The guest kernel's architecture: decides `cpu` and `timer` compatibles.
public enum GuestArch: String, Sendable, CaseIterable {
    case arm64, arm32
}
