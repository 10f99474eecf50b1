import GrantEngine

/// What each request cost on average, in the operations that decide real
/// speed on Xen (where a hypercall and a TLB flush cost far more than in
/// the simulation).
public struct CostModel: Hashable, Sendable {
    /// Grant entries the guest wrote (each is also ended later).
    public var grantOps: Double = 0
    /// Map operations of the backend: grant maps and foreign maps.
    public var mapOps: Double = 0
    /// Grant unmaps of the backend.
    public var unmapOps: Double = 0
    /// TLB flushes: one per unmap batch of up to 32.
    public var flushBatches: Double = 0
    /// Bytes copied into and out of a pool (bounce, grant pool).
    public var bytesCopied: Double = 0

    public init() {}
}

/// The counters a cost model is the difference of.
struct CostCounters {
    var grantsIssued = 0
    var maps = 0
    var unmaps = 0
    var flushes = 0
    var bytesCopied = 0

    init(_ dma: DMAStatistics, _ access: AccessStatistics) {
        grantsIssued = dma.grantsIssued
        maps = access.grantMaps + access.foreignMaps
        unmaps = access.grantUnmaps + access.foreignUnmaps
        flushes = access.unmapFlushes
        bytesCopied = dma.bytesCopied
    }

    /// The per-request averages from `start` to `self`.
    func costs(since start: CostCounters, requests: Int) -> CostModel {
        let count = Double(max(requests, 1))
        var model = CostModel()
        model.grantOps = Double(grantsIssued - start.grantsIssued) / count
        model.mapOps = Double(maps - start.maps) / count
        model.unmapOps = Double(unmaps - start.unmaps) / count
        model.flushBatches = Double(flushes - start.flushes) / count
        model.bytesCopied = Double(bytesCopied - start.bytesCopied) / count
        return model
    }
}

/// One device's run.
public struct DeviceReport: Hashable, Sendable {
    public let path: String
    public let kind: DeviceKind
    /// The DMA ops it ran with (`grant`, `grant-pool`, `bounce`, `direct`).
    public let dma: DMAKind
    /// The backend domain the tree (or the caller) names; nil when it
    /// names none (dom0 then serves the device).
    public let backend: UInt16?
    /// The domain that actually ran the backend.
    public let servedBy: UInt16
    /// Workload requests completed.
    public var requests = 0
    /// Data bytes carried.
    public var bytes = 0
    /// Every request completed with status OK and every byte read back or
    /// echoed was the byte written.
    public var verified = false
    /// Grants the device's DMA ops gave out and never got back, after
    /// teardown.
    public var grantsOutstanding = 0
    /// Operations the hypervisor refused while the device ran (its event
    /// log): 0 for a well-behaved backend.
    public var refused = 0
    /// Per workload request.
    public var costs = CostModel()
    /// An end of access failed: the device is disabled, its grants and
    /// pages leaked for good.
    public var broken = false
    /// Guest pages kept out of the allocator for good.
    public var pagesLeaked = 0
    /// What went wrong, in words.
    public var errors: [String] = []
}

/// The result of `VirtioRun.run`.
public struct RunReport: Hashable, Sendable {
    public var devices: [DeviceReport] = []
    /// Hostile runs: every attack on every device, in device order and the
    /// fixed attack order.
    public var attacks: [AttackReport] = []
    public let hostile: Bool

    /// The run's verdict. Every device verified; then, in a normal run,
    /// nothing leaked (no grant outstanding, no device broken); in a
    /// hostile run, every attack on a grant-bound device refused or
    /// contained (a held mapping leaks by design).
    public var ok: Bool {
        guard !devices.isEmpty, devices.allSatisfy(\.verified) else { return false }
        if hostile {
            let grantDevices = Set(devices.filter { $0.dma == .grant || $0.dma == .grantPool }.map(\.path))
            return attacks.allSatisfy { !grantDevices.contains($0.device) || $0.outcome != .succeeded }
        }
        return devices.allSatisfy { $0.grantsOutstanding == 0 && !$0.broken }
    }
}
