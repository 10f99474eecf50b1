import Diagnostics
import GuestLayout
import XLConfig

/// Guests built directly in Swift, the way the xl.cfg front end would
/// hand them over, each value placed on its own config line.
enum Guests {
    static let file = "guest.cfg"

    static func at(_ line: Int, column: Int = 1, span: Int = 1) -> Diagnostics.SourceLocation {
        Diagnostics.SourceLocation(file: file, line: line, column: column, span: span)
    }

    static func located<T>(_ value: T, line: Int) -> Located<T> { Located(value, at: at(line)) }

    /// `name = "guest"`, `memory = 512`, `vcpus = 1`, nothing else.
    static func minimal(memoryMiB: UInt64 = 512, vcpus: Int = 1) -> GuestConfig {
        var guest = GuestConfig(file: file)
        guest.name = located("guest", line: 1)
        guest.memoryMiB = located(memoryMiB, line: 2)
        guest.vcpus = located(vcpus, line: 3)
        return guest
    }

    /// A `disk=` entry with `specification=virtio` on config line `line`.
    static func disk(backend: UInt32? = nil, grantUsage: Bool? = nil, line: Int = 10) -> VirtioDisk {
        VirtioDisk(
            location: at(line, column: 9, span: 40),
            backend: backend.map { located(Backend(domid: $0), line: line) },
            grantUsage: grantUsage.map { located($0, line: line) },
            vdev: "xvda", target: "/dev/vg/guest")
    }

    /// A `virtio=` entry on config line `line`.
    static func device(
        type: String? = "virtio,device1a", backend: UInt32? = nil, grantUsage: UInt64? = nil,
        transport: VirtioTransport? = .mmio, line: Int = 20
    ) -> VirtioDevice {
        VirtioDevice(
            location: at(line, column: 11, span: 50),
            backend: backend.map { located(Backend(domid: $0), line: line) },
            type: type.map { located($0, line: line) },
            transport: transport.map { located($0, line: line) },
            grantUsage: grantUsage.map { located($0, line: line) })
    }

    /// What `--kernel-size` assumes by default: a 32 MiB arm64 kernel at the RAM base.
    static let kernel = KernelImage(arch: .arm64, loadOffset: 0, size: 32 << 20)
    static let inputs = GuestInputs(kernel: kernel)

    static func options(_ version: String = "4.22", configure: (inout LayoutOptions) -> Void = { _ in }) -> LayoutOptions {
        var options = LayoutOptions()
        if let parsed = XenVersion(version) { options.xenVersion = parsed }
        configure(&options)
        return options
    }
}
