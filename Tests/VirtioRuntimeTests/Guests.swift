import DeviceTree
import Foundation
import GrantEngine
import TestSupport
@testable import VirtioRuntime

/// Guest trees and settings for end-to-end runs.
enum Guests {
    /// `GuestDTS.source(devices)`, compiled by dtc and read back.
    static func tree(_ devices: [GuestDTS.Device]) throws -> DeviceTree {
        try DTBReader.read(DTC.compile(GuestDTS.source(devices)).blob)
    }

    /// The blob dtc builds from a layout golden (Tests/GuestLayoutTests/Golden).
    static func golden(_ name: String) throws -> DeviceTree {
        let path = Paths.inPackage("Tests/GuestLayoutTests/Golden/\(name).dts")
        let result = try Tool.dtc(["-q", "-I", "dts", "-O", "dtb", "-o", "-", path])
        guard result.status == 0 else { throw DTC.OracleError.dtcFailed(result.stderr) }
        return try DTBReader.read(result.stdout)
    }

    /// The goldens with at least one enabled virtio,mmio device.
    static let goldensWithDevices = [
        "dom0-forced-grants", "eleven-devices", "grant-usage", "grants-off", "partial-dt", "virtio-mixed", "xen-4.17",
        "xen-4.18", "xen-4.20-iomem",
    ]

    /// Small, fast settings for tests.
    static func options(requests: Int = 60, depth: Int = 4, hostile: Bool = false) -> RunOptions {
        var options = RunOptions()
        options.requests = requests
        options.queueDepth = depth
        options.hostile = hostile
        options.disks = []
        return options
    }

    /// Runs `tree` with kinds inferred from it and in-memory disks.
    static func run(_ tree: DeviceTree, _ options: RunOptions) throws -> RunReport {
        var options = options
        let blocks = VirtioRun.kinds(inferredFrom: tree).values.filter { $0 == .block }.count
        if options.disks.isEmpty { options.disks = Array(repeating: .memory(bytes: 8 << 20), count: blocks) }
        return try VirtioRun.run(tree: tree, kinds: VirtioRun.kinds(inferredFrom: tree), options: options)
    }
}

/// One device's session on a fresh machine, for tests that drive the
/// lifecycle by hand.
struct Bench {
    let system: GuestSystem
    let session: DeviceSession

    /// A virtio-blk (or loopback) device with DMA ops of `kind`, backend 1
    /// for grants (dom0 otherwise), an in-memory disk unless one is given.
    init(
        _ kind: DMAKind = .grant, device: DeviceKind = .block, image: DiskImage? = nil, depth: Int = 4, maxRequest: Int = 65536,
        configuration: BackendConfiguration? = nil, observer: RequestObserver? = nil
    ) throws {
        let ram = GuestRegion(base: GuestAddress(0x4000_0000), size: 64 << 20)
        system = try GuestSystem(ram: [ram], backendIDs: [DomainID(1)])
        let dma = try DeviceDMA.standalone(
            kind, system: system, grantBackend: DomainID(1), pool: GuestRegion(base: GuestAddress(0x4300_0000), size: 4 << 20),
            poolPages: 64)
        let disk = device == .block ? try image ?? DiskImage.open(.memory(bytes: 4 << 20)) : nil
        session = try DeviceSession(
            path: "/virtio@2000000", kind: device, system: system, dma: dma, image: disk, queueDepth: depth, maxRequest: maxRequest,
            observer: observer, configuration: configuration)
    }

    var guest: Domain { system.guest }
}
