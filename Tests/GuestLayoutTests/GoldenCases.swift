import DeviceTree
import Foundation
import GuestLayout
import TestSupport
import XLConfig

/// One hand-written golden DTS and the guest it describes.
struct GoldenCase: Sendable {
    let name: String
    let guest: GuestConfig
    var options = Guests.options()
    var inputs = Guests.inputs
    /// Rule ids of the findings the layout must report (no errors).
    var expectedRules: [String] = []
}

extension GoldenCase {
    static func guest(_ configure: (inout GuestConfig) -> Void, memoryMiB: UInt64 = 512, vcpus: Int = 1) -> GuestConfig {
        var guest = Guests.minimal(memoryMiB: memoryMiB, vcpus: vcpus)
        configure(&guest)
        return guest
    }

    static let all: [GoldenCase] = [
        GoldenCase(name: "minimal", guest: Guests.minimal()),
        GoldenCase(name: "gicv2", guest: guest({ $0.gicVersion = Guests.located(.v2, line: 4) }, vcpus: 2)),
        GoldenCase(
            name: "arm32", guest: guest({ $0.cmdline = Guests.located("console=hvc0", line: 4) }, memoryMiB: 256),
            inputs: GuestInputs(kernel: KernelImage(arch: .arm32, loadOffset: 0x8000, size: 6 << 20))),
        GoldenCase(name: "vcpus-17", guest: guest({ $0.maxvcpus = Guests.located(17, line: 4) }, memoryMiB: 1024, vcpus: 4)),
        GoldenCase(name: "ram-two-banks", guest: guest({ $0.maxmemMiB = Guests.located(4096, line: 4) }, memoryMiB: 2048)),
        GoldenCase(name: "vuart", guest: guest { $0.vuart = Guests.located(true, line: 4) }),
        GoldenCase(name: "optee", guest: guest { $0.tee = Guests.located(.optee, line: 4) }),
        GoldenCase(name: "vpci", guest: guest { $0.pci = [Guests.located("0000:01:00.0", line: 4)] }),
        GoldenCase(
            name: "virtio-mixed",
            guest: guest {
                $0.virtioDisks = [Guests.disk(backend: 1)]
                $0.virtioDevices = [
                    Guests.device(type: "virtio,device22", backend: 2, line: 20),
                    Guests.device(type: "virtio,device29", line: 21),
                    Guests.device(type: "virtio,device1a", backend: 3, grantUsage: 0, line: 22),
                    Guests.device(type: "virtio,device1a", backend: 4, transport: nil, line: 23),
                ]
            }),
        GoldenCase(
            name: "eleven-devices",
            guest: guest {
                $0.virtioDisks = [1, 1, 2, 2].enumerated().map { Guests.disk(backend: $1, line: 10 + $0) }
                $0.virtioDevices = (1...7).map { Guests.device(type: "virtio,device\($0)", backend: 3, line: 20 + $0) }
            }),
        GoldenCase(
            name: "grant-usage",
            guest: guest {
                $0.virtioDisks = [
                    Guests.disk(backend: 5, line: 10), Guests.disk(backend: 5, grantUsage: false, line: 11),
                    Guests.disk(backend: 0, line: 12), Guests.disk(backend: 0, grantUsage: true, line: 13),
                ]
                $0.virtioDevices = [
                    Guests.device(backend: 7, line: 20), Guests.device(backend: 7, grantUsage: 0, line: 21),
                    Guests.device(backend: 0, line: 22), Guests.device(backend: 0, grantUsage: 1, line: 23),
                ]
            }),
        GoldenCase(
            name: "grants-off",
            guest: guest {
                $0.virtioDisks = [Guests.disk(backend: 0)]
                $0.virtioDevices = [Guests.device(backend: 3, grantUsage: 0)]
            }),
        GoldenCase(name: "dom0-forced-grants", guest: guest { $0.virtioDevices = [Guests.device(grantUsage: 1)] }),
        GoldenCase(
            name: "xen-4.17",
            guest: guest {
                $0.pci = [Guests.located("0000:01:00.0", line: 4)]
                $0.virtioDisks = [0, 2, 3].enumerated().map { Guests.disk(backend: $1, line: 10 + $0) }
                $0.virtioDevices = [Guests.device(type: "virtio,device22", backend: 2)]
            },
            options: Guests.options("4.17")),
        GoldenCase(
            name: "xen-4.18",
            guest: guest {
                $0.pci = [Guests.located("0000:01:00.0", line: 4)]
                $0.virtioDisks = [Guests.disk(backend: 2)]
                $0.virtioDevices = [Guests.device(type: "virtio,device22", grantUsage: 1)]
            },
            options: Guests.options("4.18")),
        GoldenCase(
            name: "xen-4.20-iomem",
            guest: guest {
                $0.pci = [Guests.located("0000:01:00.0", line: 4)]
                $0.virtioDisks = [Guests.disk(backend: 2, grantUsage: false)]
                $0.iomem = [Guests.located(IOMemRange(firstMachineFrame: 0x90000, frameCount: 0x1000), line: 5)]
            },
            options: Guests.options("4.20") { $0.gpaddrBits = 36 }),
        GoldenCase(
            name: "xen-4.21-iomem-holes",
            guest: guest {
                $0.iomem = [
                    Guests.located(IOMemRange(firstMachineFrame: 0x300000, frameCount: 0x10), line: 5),
                    Guests.located(IOMemRange(firstMachineFrame: 0x80000, frameCount: 0x1000, firstGuestFrame: 0x90000), line: 5),
                    Guests.located(IOMemRange(firstMachineFrame: 0xc0000, frameCount: 0x100), line: 5),
                ]
            },
            options: Guests.options("4.21")),
        GoldenCase(name: "timer-frequency", guest: Guests.minimal(), options: Guests.options { $0.timerFrequency = 62_500_000 }),
        GoldenCase(
            name: "rng-seed", guest: guest { $0.cmdline = Guests.located("console=hvc0 earlycon", line: 4) },
            options: Guests.options { $0.rngSeed = (0..<128).map(UInt8.init) }),
        GoldenCase(
            name: "ramdisk",
            guest: guest {
                $0.ramdisk = Guests.located("initrd.img", line: 4)
                $0.root = Guests.located("/dev/vda", line: 5)
                $0.extra = Guests.located("console=hvc0", line: 6)
            },
            inputs: GuestInputs(kernel: Guests.kernel, ramdiskSize: 8 << 20)),
        GoldenCase(
            name: "ramdisk-top-of-bank", guest: guest({ $0.ramdisk = Guests.located("initrd.img", line: 4) }, memoryMiB: 128),
            inputs: GuestInputs(kernel: Guests.kernel, ramdiskSize: (8 << 20) + 1)),
        GoldenCase(
            name: "ramdisk-below-kernel", guest: guest({ $0.ramdisk = Guests.located("initrd.img", line: 4) }, memoryMiB: 64),
            options: Guests.options("4.20"),
            inputs: GuestInputs(kernel: KernelImage(arch: .arm64, loadOffset: 0x200_0000, size: 20 << 20), ramdiskSize: 16 << 20)),
        GoldenCase(
            name: "partial-dt",
            guest: guest {
                $0.irqs = [Guests.located(95, line: 4)]
                $0.virtioDisks = [Guests.disk(backend: 1)]
                $0.deviceTree = Guests.located("partial-dt.dtb", line: 5)
            },
            inputs: GuestInputs(kernel: Guests.kernel, partialTree: GuestInputs.PartialTree(
                file: "partial-dt.dtb", tree: GoldenFiles.partialTree("partial-dt.input")))),
    ]
}

/// The golden files under Tests/GuestLayoutTests/Golden.
enum GoldenFiles {
    static func path(_ name: String) -> String { Paths.inPackage("Tests/GuestLayoutTests/Golden/\(name).dts") }

    static func text(_ name: String) -> String {
        (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "missing golden \(name)"
    }

    /// A partial device tree compiled by dtc from its DTS fixture (an
    /// empty tree when that fails, which the golden then shows).
    static func partialTree(_ name: String) -> DeviceTree {
        guard let blob = try? DTC.compile(text(name)).blob, let tree = try? DTBReader.read(blob) else {
            return DeviceTree(root: Node(""))
        }
        return tree
    }
}
