import GrantEngine

/// What a `virtio,mmio` device is served as.
public enum DeviceKind: String, Hashable, Sendable {
    /// virtio-blk: a disk image behind it.
    case block = "virtio-blk"
    /// grantdt's loopback device, which echoes buffers both ways.
    case loopback
}

/// How grant-bound devices move data.
public enum GrantMode: String, Hashable, Sendable, CaseIterable {
    /// Linux's grant DMA ops: fresh grants for every buffer.
    case perRequest = "per-request"
    /// A pool granted and mapped once; buffers are copied through it.
    case pool
}

/// Request data sizes.
public enum RequestSize: Hashable, Sendable, CustomStringConvertible {
    /// A deterministic mix from 512 bytes to 64 KiB (mostly 4 KiB).
    case mixed
    /// Every data transfer this many bytes (a multiple of 512).
    case fixed(Int)

    /// The sizes the mix draws from, with their weights.
    static let mix: [(bytes: Int, weight: Int)] = [
        (512, 2), (1024, 1), (4096, 8), (8192, 3), (16384, 2), (32768, 1), (65536, 3),
    ]

    /// The largest request of this setting.
    public var maximum: Int {
        switch self {
        case .mixed: Self.mix.map(\.bytes).max() ?? 65536
        case .fixed(let bytes): bytes
        }
    }

    /// The largest request size a run accepts: what one mapping of a
    /// restricted DMA pool can hold (128 slots of 2 KiB).
    public static let limit = 256 << 10

    public var description: String {
        switch self {
        case .mixed: "512 B-64 KiB mix"
        case .fixed(let bytes): "\(bytes) B"
        }
    }
}

/// The settings of `grantdt run`.
public struct RunOptions: Sendable {
    /// Workload requests per device.
    public var requests = 1000
    /// Requests a frontend keeps in flight.
    public var queueDepth = 8
    public var requestSize = RequestSize.mixed
    public var grantMode = GrantMode.perRequest
    /// Storage of the virtio-blk devices, in tree order; devices beyond the
    /// list get a sparse temporary file.
    public var disks: [DiskSource] = []
    /// Every backend also attacks.
    public var hostile = false
    /// Seeds the workload (sectors, sizes, data).
    public var seed: UInt64 = 0x6772_616e_7464_74
    /// Called on the running thread after every batch of completions.
    public var progress: (@Sendable (RunProgress) -> Void)?

    public init() {}

    /// Checks the numbers; the message names the flag.
    public func validate() throws(RunError) {
        guard requests >= 1 else { throw .options("--requests must be at least 1") }
        guard (1...256).contains(queueDepth) else { throw .options("--queue-depth must be between 1 and 256") }
        if case .fixed(let bytes) = requestSize {
            guard bytes >= 512, bytes <= RequestSize.limit, bytes % 512 == 0 else {
                throw .options("--request-size must be a multiple of 512 from 512 to \(RequestSize.limit)")
            }
        }
    }
}

/// Where a run is: device `device` of `devices` has completed `completed`
/// of `total` requests.
public struct RunProgress: Hashable, Sendable {
    public let device: Int
    public let devices: Int
    public let path: String
    public let completed: Int
    public let total: Int
}

/// Why a run could not start.
public enum RunError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The tree cannot be run (no RAM, a pool outside RAM, an IOMMU the
    /// run cannot model): the input has errors.
    case tree(String)
    /// A disk image cannot be used.
    case disk(DiskError)
    /// A flag's value is out of range, or flags do not fit the tree.
    case options(String)
    /// The simulated machine could not be built (no threads, ...).
    case machine(String)

    /// Whether the input (tree) is at fault rather than the invocation.
    public var isInputError: Bool {
        if case .tree = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .tree(let message), .options(let message), .machine(let message): message
        case .disk(let error): error.description
        }
    }
}
