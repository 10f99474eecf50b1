import DeviceTree
import Foundation
import GrantEngine
import TestSupport
@testable import VirtioRuntime

/// Guest trees for end-to-end runs, written as DTS and compiled by dtc.
enum Guests {
    /// One virtio,mmio node of a guest.
    enum Device {
        /// `iommus = <&xen_iommu domid>`.
        case grant(UInt32)
        /// `memory-region` → the restricted pool.
        case bounce
        case direct
        /// A grant-bound i2c device (loopback).
        case i2c(UInt32)
    }

    /// A libxl-shaped guest: 256 MiB of RAM at 0x40000000, a GICv3, a
    /// 4 MiB restricted-dma-pool at 0x4f000000, the devices at libxl's
    /// bases and SPIs.
    static func source(_ devices: [Device]) -> String {
        var nodes = ""
        for (index, device) in devices.enumerated() {
            let base = 0x0200_0000 + index * 0x200
            nodes += "    virtio@\(String(base, radix: 16)) {\n"
            nodes += "        compatible = \"virtio,mmio\";\n"
            nodes += "        reg = <0 0x\(String(base, radix: 16)) 0 0x200>;\n"
            nodes += "        interrupts = <0 \(index + 1) 0xf01>;\n        dma-coherent;\n"
            switch device {
            case .grant(let domid): nodes += "        iommus = <&xen_iommu \(domid)>;\n"
            case .bounce: nodes += "        memory-region = <&pool>;\n"
            case .direct: break
            case .i2c(let domid):
                nodes += "        iommus = <&xen_iommu \(domid)>;\n        i2c { compatible = \"virtio,device22\"; };\n"
            }
            nodes += "    };\n"
        }
        return """
            /dts-v1/;
            / {
                #address-cells = <2>;
                #size-cells = <2>;
                interrupt-parent = <&gic>;
                memory@40000000 { device_type = "memory"; reg = <0 0x40000000 0 0x10000000>; };
                gic: interrupt-controller@3001000 {
                    compatible = "arm,gic-v3"; #interrupt-cells = <3>; #address-cells = <0>; interrupt-controller;
                    reg = <0 0x3001000 0 0x10000>, <0 0x3020000 0 0x1000000>;
                };
                reserved-memory {
                    #address-cells = <2>; #size-cells = <2>; ranges;
                    pool: restricted@4f000000 { compatible = "restricted-dma-pool"; reg = <0 0x4f000000 0 0x400000>; };
                };
            \(nodes)    xen_iommu: xen_iommu { compatible = "xen,grant-dma"; #iommu-cells = <1>; phandle = <0xfde9>; };
            };
            """
    }

    static func tree(_ devices: [Device]) throws -> DeviceTree {
        try DTBReader.read(DTC.compile(source(devices)).blob)
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
