import DeviceTree
import Diagnostics
import GuestLayout
import Testing
import TestSupport
import XLConfig

/// Random valid guests: whatever mix of devices, backends, grant settings
/// and options, the tree has no overlapping `reg` ranges, no SPI twice and
/// no phandle that resolves to nothing; dtc agrees.
@Suite struct PropertyTests {
    struct RandomGuest {
        var guest: GuestConfig
        var options: LayoutOptions
        var inputs: GuestInputs
    }

    static func randomGuest(_ random: inout SplitMix64) -> RandomGuest {
        let version = XenVersion.supported.randomElement(using: &random) ?? .default
        let rules = Template.builtin.rules(for: version)
        var guest = Guests.minimal(memoryMiB: UInt64.random(in: 64...6144, using: &random), vcpus: Int.random(in: 1...8, using: &random))
        if Bool.random(using: &random) { guest.gicVersion = Guests.located(Bool.random(using: &random) ? .v2 : .v3, line: 4) }
        if Bool.random(using: &random) { guest.vuart = Guests.located(true, line: 5) }
        if Bool.random(using: &random) { guest.tee = Guests.located(.optee, line: 6) }
        if Bool.random(using: &random) { guest.pci = [Guests.located("0000:00:01.0", line: 7)] }
        let count = Int.random(in: 1...11, using: &random)
        let disks = rules?.virtioDevices == true ? Int.random(in: 0...count, using: &random) : count
        guest.virtioDisks = (0..<disks).map { index in
            let grants: Bool? = rules?.diskGrantUsage == true ? [nil, true, false].randomElement(using: &random) ?? nil : nil
            return Guests.disk(backend: UInt32.random(in: 0...4, using: &random), grantUsage: grants, line: 10 + index)
        }
        let types = ["virtio,device22", "virtio,device29", "virtio,device1a", "virtio,device", "virtio,device13"]
        guest.virtioDevices = (disks..<count).map { index in
            Guests.device(
                type: types.randomElement(using: &random), backend: UInt32.random(in: 0...4, using: &random),
                grantUsage: [nil, 0, 1, 7].randomElement(using: &random) ?? nil, line: 20 + index)
        }
        // Passthrough SPIs clear of the vuart's and the virtio ones.
        guest.irqs = (0..<Int.random(in: 0...3, using: &random)).map { _ in Guests.located(UInt32.random(in: 50...300, using: &random), line: 8) }
        guest.iomem = (0..<Int.random(in: 0...4, using: &random)).map { _ in
            Guests.located(IOMemRange(
                firstMachineFrame: UInt64.random(in: 0x40000...0xff_ffff, using: &random),
                frameCount: UInt64.random(in: 1...0x40000, using: &random)), line: 9)
        }
        var options = Guests.options(version.description)
        options.hostGIC = Bool.random(using: &random) ? .v2 : .v3
        options.gpaddrBits = [36, 40, 44, 48].randomElement(using: &random) ?? 40
        let ramdisk: UInt64? = Bool.random(using: &random) ? UInt64.random(in: 1...(16 << 20), using: &random) : nil
        if ramdisk != nil { guest.ramdisk = Guests.located("initrd", line: 30) }
        return RandomGuest(guest: guest, options: options, inputs: GuestInputs(kernel: Guests.kernel, ramdiskSize: ramdisk))
    }

    @Test(arguments: 0..<8)
    func randomGuestsAreSound(batch: Int) throws {
        var random = SplitMix64(seed: UInt64(batch) &* 0x9e37)
        for _ in 0..<40 {
            let sample = Self.randomGuest(&random)
            let result = GuestLayoutBuilder.build(sample.guest, inputs: sample.inputs, options: sample.options)
            #expect(!result.hasErrors, "\(result.diagnostics)")
            let tree = try #require(result.tree)
            try Self.checkRanges(tree, sample)
            try Self.checkSPIs(tree, sample)
            try Self.checkPhandles(tree)
        }
    }

    @Test(arguments: 0..<4)
    func dtcAcceptsRandomGuests(seed: Int) throws {
        var random = SplitMix64(seed: 1000 + UInt64(seed))
        let sample = Self.randomGuest(&random)
        let tree = try #require(GuestLayoutBuilder.build(sample.guest, inputs: sample.inputs, options: sample.options).tree)
        let fromDTS = try DTC.compile(DTSPrinter.print(tree), waiving: DTC.waivedChecks)
        #expect(fromDTS.warnings.isEmpty, "\(fromDTS.warnings)")
        let fromDTB = try DTC.decompile(DTBWriter.write(tree), waiving: DTC.waivedChecks)
        #expect(fromDTB.warnings.isEmpty, "\(fromDTB.warnings)")
        #expect(try DTC.decompile(fromDTS.blob).text == fromDTB.text)
    }

    /// Every `reg` range of a root-level node, the vPCI windows, and the
    /// extended regions: pairwise disjoint (the GIC's two forms never meet).
    static func checkRanges(_ tree: DeviceTree, _ sample: RandomGuest) throws {
        var ranges: [(String, UInt64, UInt64)] = []
        func pairs(_ value: PropertyValue?, owner: String) throws {
            let cells = try #require(value?.cells)
            for index in stride(from: 0, to: cells.count, by: 4) {
                let base = UInt64(cells[index]) << 32 | UInt64(cells[index + 1])
                let size = UInt64(cells[index + 2]) << 32 | UInt64(cells[index + 3])
                ranges.append((owner, base, size))
            }
        }
        for node in tree.root.children where node[property: "reg"] != nil {
            try pairs(node[property: "reg"], owner: node.name)
        }
        if let bridge = tree.root.children.first(where: { $0.name.hasPrefix("pcie@") }), let cells = bridge[property: "ranges"]?.cells {
            for index in stride(from: 0, to: cells.count, by: 7) {
                ranges.append(("pci window", UInt64(cells[index + 3]) << 32 | UInt64(cells[index + 4]),
                               UInt64(cells[index + 5]) << 32 | UInt64(cells[index + 6])))
            }
        }
        for (i, a) in ranges.enumerated() {
            for b in ranges[(i + 1)...] {
                let overlap = a.2 > 0 && b.2 > 0 && a.1 < b.1 &+ b.2 && b.1 < a.1 &+ a.2
                #expect(!overlap, "\(a.0) \(a.1)+\(a.2) overlaps \(b.0) \(b.1)+\(b.2)")
            }
        }
        // From 4.21 extended regions also avoid the iomem ranges.
        guard sample.options.xenVersion >= XenVersion(major: 4, minor: 21) else { return }
        let extended = try #require(tree.node(at: "/hypervisor")?[property: "reg"]?.cells).dropFirst(4)
        for index in stride(from: extended.startIndex, to: extended.endIndex, by: 4) {
            let base = UInt64(extended[index]) << 32 | UInt64(extended[index + 1])
            let end = base + (UInt64(extended[index + 2]) << 32 | UInt64(extended[index + 3]))
            for io in sample.guest.iomem.map(\.value) {
                let ioBase = io.firstGuestFrame << 12, ioEnd = (io.firstGuestFrame + io.frameCount) << 12
                #expect(!(base < ioEnd && ioBase < end), "extended region \(base)..<\(end) overlaps iomem")
            }
        }
    }

    /// SPIs in `interrupts` (first cell 0) appear once, and no passthrough
    /// interrupt is one of them.
    static func checkSPIs(_ tree: DeviceTree, _ sample: RandomGuest) throws {
        var spis: [UInt32] = []
        var stack = [tree.root]
        while let node = stack.popLast() {
            if let cells = node[property: "interrupts"]?.cells {
                for index in stride(from: 0, to: cells.count, by: 3) where cells[index] == 0 {
                    spis.append(cells[index + 1] + 32)
                }
            }
            stack += node.children
        }
        #expect(Set(spis).count == spis.count, "SPIs \(spis)")
        #expect(Set(spis).isDisjoint(with: sample.guest.irqs.map(\.value)))
        let devices = sample.guest.virtioDisks.count + sample.guest.virtioDevices.count
        let expectedVirtio = Template.builtin.rules(for: sample.options.xenVersion)?.virtioDevices == true
            ? devices : sample.guest.virtioDisks.count
        #expect(spis.filter { (33...43).contains($0) }.count == expectedVirtio)
    }

    /// `interrupt-parent` and `iommus` resolve, with as many specifier
    /// cells as the target's `#...-cells` asks.
    static func checkPhandles(_ tree: DeviceTree) throws {
        let table = NodeTable(tree)
        #expect(table.phandleClashes.isEmpty && table.invalidPhandles.isEmpty)
        for entry in table.entries {
            if let parent = entry.node[property: "interrupt-parent"] {
                let phandle = try #require(parent.u32)
                let target = try #require(table.index(ofPhandle: phandle), "\(entry.path): interrupt-parent dangles")
                #expect(table[target].node[property: "interrupt-controller"] != nil)
            }
            if let iommus = entry.node[property: "iommus"]?.cells {
                let target = try #require(table.index(ofPhandle: iommus[0]), "\(entry.path): iommus dangles")
                let cells = try #require(table[target].node[property: "#iommu-cells"]?.u32)
                #expect(iommus.count == 1 + Int(cells))
            }
        }
    }
}
