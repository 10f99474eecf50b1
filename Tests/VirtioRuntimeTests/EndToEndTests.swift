import DeviceTree
import GrantEngine
import Testing
import TestSupport
@testable import VirtioRuntime

/// Whole runs: every device bound, served, verified, torn down.
@Suite struct EndToEndTests {
    /// Every layout golden with devices runs clean: all verified, no grant
    /// outstanding, nothing refused, nothing broken.
    @Test(arguments: Guests.goldensWithDevices)
    func layoutGoldenRunsClean(name: String) throws {
        let tree = try Guests.golden(name)
        let report = try Guests.run(tree, Guests.options(requests: 40))
        #expect(report.ok, "\(report.devices.flatMap(\.errors))")
        #expect(report.devices.count == Binder(tree: tree).devices.filter { $0.state.dma != nil }.count)
        for device in report.devices {
            #expect(device.verified && device.requests == 40 && device.bytes > 0)
            #expect(device.grantsOutstanding == 0 && !device.broken && device.refused == 0)
        }
    }

    /// Grant, bounce, direct and a loopback device with two backend
    /// domains, in both grant modes: the DMA ops and their costs are the
    /// ones each binding implies.
    @Test(arguments: GrantMode.allCases)
    func everyBindingAndBackend(mode: GrantMode) throws {
        let tree = try Guests.tree([.grant(1), .bounce, .direct, .i2c(2), .grant(2)])
        var options = Guests.options(requests: 80)
        options.grantMode = mode
        let report = try Guests.run(tree, options)
        #expect(report.ok, "\(report.devices.flatMap(\.errors))")
        let grant: DMAKind = mode == .pool ? .grantPool : .grant
        #expect(report.devices.map(\.dma) == [grant, .bounce, .direct, grant, grant])
        #expect(report.devices.map(\.backend) == [1, nil, nil, 2, 2])
        #expect(report.devices.map(\.servedBy) == [1, 0, 0, 2, 2])
        let costs = report.devices.map(\.costs)
        if mode == .perRequest {
            // Header, data pages and status granted, mapped and unmapped
            // per request, one flush batch each.
            #expect(costs[0].grantOps >= 3 && costs[0].mapOps == costs[0].grantOps && costs[0].unmapOps == costs[0].mapOps)
            #expect(costs[0].flushBatches >= 1 && costs[0].bytesCopied == 0)
        } else {
            // Nothing granted or mapped per request; every byte copied.
            #expect(costs[0].grantOps == 0 && costs[0].mapOps == 0 && costs[0].flushBatches == 0 && costs[0].bytesCopied > 0)
        }
        #expect(costs[1].grantOps == 0 && costs[1].bytesCopied > 0 && costs[1].unmapOps == 0)
        #expect(costs[2].grantOps == 0 && costs[2].bytesCopied == 0 && costs[2].unmapOps == 0)
        #expect(report.devices.allSatisfy { $0.grantsOutstanding == 0 && $0.refused == 0 })
    }

    /// Queue depths from 1 to 128 (three descriptors each: more than a
    /// 256-entry ring holds), fixed sizes from one sector to 256 KiB.
    @Test(arguments: [(1, 512), (8, 4096), (32, 65536), (3, 262_144), (128, 512)])
    func depthsAndSizes(depth: Int, size: Int) throws {
        var options = Guests.options(requests: max(48, 2 * depth), depth: depth)
        options.requestSize = .fixed(size)
        let report = try Guests.run(try Guests.tree([.grant(1), .bounce]), options)
        #expect(report.ok, "\(report.devices.flatMap(\.errors))")
    }

    /// The same seed gives the same workload: same bytes, same costs.
    @Test func deterministic() throws {
        let tree = try Guests.tree([.grant(1), .i2c(1)])
        let first = try Guests.run(tree, Guests.options(requests: 50))
        let second = try Guests.run(tree, Guests.options(requests: 50))
        #expect(first.devices.map(\.bytes) == second.devices.map(\.bytes))
        #expect(first.devices.map(\.costs) == second.devices.map(\.costs))
    }

    /// Kinds from a DTB alone: an i2c or gpio child makes a loopback.
    @Test func kindsFromTheTree() throws {
        let kinds = VirtioRun.kinds(inferredFrom: try Guests.golden("virtio-mixed"))
        #expect(kinds == ["/virtio@2000000": .block, "/virtio@2000200": .loopback, "/virtio@2000400": .loopback,
                          "/virtio@2000600": .block])
    }

    /// Trees and options the run refuses, with the message that says why.
    @Test func refusals() throws {
        let noRAM = try DTBReader.read(DTC.compile(GuestDTS.source([.grant(1)]).replacingOccurrences(
            of: "memory@40000000 { device_type = \"memory\"; reg = <0 0x40000000 0 0x10000000>; };", with: "")).blob)
        let error = #expect(throws: RunError.self) { try Guests.run(noRAM, Guests.options()) }
        #expect(error?.isInputError == true && error?.description.contains("no memory node") == true)
        var options = Guests.options()
        options.disks = [.memory(bytes: 1 << 20), .memory(bytes: 1 << 20)]
        #expect(throws: RunError.options("--disk is given 2 times but the tree has 1 virtio-blk devices")) {
            try VirtioRun.run(tree: try Guests.tree([.grant(1)]), kinds: [:], options: options)
        }
        options = Guests.options()
        options.requestSize = .fixed(1000)
        #expect(throws: RunError.self) { try Guests.run(try Guests.tree([.grant(1)]), options) }
    }
}
