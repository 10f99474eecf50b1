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
    /// Properties: the layout gives a tree exactly when it reports no
    /// error; every diagnostic is one-line; a tree it gives can be written
    /// (libxl would have built that blob) and reads back equal.
    public static let partialDeviceTree = FuzzTarget(name: "partial-dt", input: .deviceTree) { bytes in
        let partial: DeviceTree
        do throws(DTBError) {
            partial = try DTBReader.read(bytes)
        } catch {
            return Invariants.oneLine(error.description, "DTBReader error")
        }
        let inputs = GuestInputs(
            kernel: Invariants.assumedKernel,
            partialTree: GuestInputs.PartialTree(file: PartialGuests.file, tree: partial))
        return PartialGuests.all.flatMap { guest, options in
            Invariants.layout(GuestLayoutBuilder.build(guest, inputs: inputs, options: options))
        }
    }
}

/// The guests the partial tree is laid out with, written as the xl.cfg
/// front end would hand them over.
enum PartialGuests {
    static let file = "partial.dtb"
    static let config = "guest.cfg"

    static func located<Value>(_ value: Value, line: Int) -> Located<Value> {
        Located(value, at: SourceLocation(file: config, line: line, column: 1))
    }

    static func base(line: inout Int) -> GuestConfig {
        var guest = GuestConfig(file: config)
        guest.name = located("fuzz", line: 1)
        guest.memoryMiB = located(512, line: 2)
        guest.vcpus = located(2, line: 3)
        guest.deviceTree = located(file, line: 4)
        guest.irqs = [located(95, line: 5)]
        line = 6
        return guest
    }

    static let all: [(GuestConfig, LayoutOptions)] = {
        var line = 0
        var grants = base(line: &line)
        grants.virtioDisks = [
            VirtioDisk(location: SourceLocation(file: config, line: line, column: 9),
                       backend: located(Backend(domid: 1), line: line), vdev: "xvda", target: "/dev/vg/fuzz")
        ]

        var vpci = base(line: &line)
        vpci.pci = [located("0000:01:00.0", line: line)]
        vpci.virtioDevices = [
            VirtioDevice(location: SourceLocation(file: config, line: line + 1, column: 11),
                         backend: located(Backend(domid: 2), line: line + 1),
                         type: located("virtio,device29", line: line + 1), transport: located(.mmio, line: line + 1))
        ]
        var older = LayoutOptions()
        older.xenVersion = XenVersion(major: 4, minor: 18)
        older.hostGIC = .v2
        return [(grants, LayoutOptions()), (vpci, older)]
    }()
}
