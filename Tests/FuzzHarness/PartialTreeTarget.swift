import DeviceTree
import Diagnostics
import GuestLayout
import XLConfig

extension FuzzTarget {
    /// `device_tree=`: an arbitrary blob as the partial device tree of two
    /// guests (one with a grant-using virtio disk, so `xen_iommu` and its
    /// phandle exist; one with vPCI and a GPIO device on Xen 4.18), through
    /// the reader and the whole layout stage: libxl's checks, the copy of
    /// `/passthrough` and `/aliases`, phandle and alias review, RAM and
    /// module placement, finalisation.
    ///
    /// Properties: a refused blob gets a one-line reason; the rest are
    /// `Invariants.layout`'s.
    public static let partialDeviceTree = FuzzTarget(name: "partial-dt", input: .deviceTree) { bytes in
        let (read, refused) = Invariants.readBlob(bytes)
        guard let partial = read else { return refused }
        let inputs = GuestInputs(
            kernel: Invariants.assumedKernel,
            partialTree: GuestInputs.PartialTree(file: PartialGuests.file, tree: partial))
        return PartialGuests.all.flatMap { guest, options in
            Invariants.layout(GuestLayoutBuilder.build(guest, inputs: inputs, options: options))
        }
    }
}

/// The guests the partial tree is laid out with, written as the xl.cfg
/// front end would hand them over (one setting per config line).
enum PartialGuests {
    static let file = "partial.dtb"
    static let config = "guest.cfg"

    static func at(_ line: Int) -> SourceLocation { SourceLocation(file: config, line: line, column: 1) }

    static func located<Value>(_ value: Value, line: Int) -> Located<Value> { Located(value, at: at(line)) }

    /// Lines 1–5: name, memory, vcpus, device_tree, irqs.
    static var base: GuestConfig {
        var guest = GuestConfig(file: config)
        guest.name = located("fuzz", line: 1)
        guest.memoryMiB = located(512, line: 2)
        guest.vcpus = located(2, line: 3)
        guest.deviceTree = located(file, line: 4)
        guest.irqs = [located(95, line: 5)]
        return guest
    }

    static let all: [(GuestConfig, LayoutOptions)] = {
        var grants = base
        grants.virtioDisks = [
            VirtioDisk(location: at(6), backend: located(Backend(domid: 1), line: 6), vdev: "xvda", target: "/dev/vg/fuzz")
        ]
        var vpci = base
        vpci.pci = [located("0000:01:00.0", line: 6)]
        vpci.virtioDevices = [
            VirtioDevice(location: at(7), backend: located(Backend(domid: 2), line: 7),
                         type: located("virtio,device29", line: 7), transport: located(.mmio, line: 7))
        ]
        var older = LayoutOptions()
        older.xenVersion = XenVersion(major: 4, minor: 18)
        older.hostGIC = .v2
        return [(grants, LayoutOptions()), (vpci, older)]
    }()
}
