import Foundation
import GrantEngine
import Testing
import TestSupport
@testable import VirtioRuntime

/// Reset, teardown and restart as Linux and Xen do them.
@Suite struct LifecycleTests {
    private func workload(_ bench: Bench, count: Int, seed: UInt64 = 7) -> [WorkItem] {
        WorkloadPlan.block(count: count, sizes: .mixed, sectors: UInt64(4 << 20) / 512, readOnly: false, seed: seed)
    }

    /// A device reset while requests are in flight: Status ← 0 returns
    /// with the backend stopped and nothing mapped, the lost requests are
    /// unmapped (their grants end) and queued again after the new probe;
    /// every byte still verifies and nothing leaks.
    @Test(arguments: [DMAKind.grant, .grantPool, .bounce, .direct])
    func resetMidWorkload(kind: DMAKind) throws {
        let bench = try Bench(kind, depth: 8)
        try bench.session.bringUp()
        let runner = WorkloadRunner(session: bench.session, seed: 3, startsZeroed: true)
        let result = try runner.run(workload(bench, count: 120), resetAfter: 40)
        #expect(result.failures == 0, "\(result.messages)")
        #expect(result.completed == 120)
        let teardown = bench.session.finish()
        #expect(teardown.grantsOutstanding == 0 && !teardown.broken && teardown.pagesLeaked == 0)
        #expect(bench.session.accessor.outstandingRequestMappings == 0)
    }

    /// Status ← 0 unmaps everything the backend held before it returns:
    /// right after it, the guest can end every grant of the rings.
    @Test func resetReturnsAfterTheBackendUnmapped() throws {
        let bench = try Bench(.grant)
        try bench.session.bringUp()
        let requests = try #require(bench.session.requests)
        let ring = requests.queue.ring
        let before = bench.session.accessor.statistics
        #expect(before.grantMaps >= 3)
        bench.session.driver.reset()
        let after = bench.session.accessor.statistics
        #expect(after.grantUnmaps == after.grantMaps)
        let pages = XenPage.count(offset: 0, length: ring.size)
        for page in 0..<pages {
            #expect(bench.guest.grants.entry(ring.dmaAddress.grantRef.advanced(by: page))?.isInUse == false)
        }
        try bench.session.driver.freeRing(requests.queue)
        #expect(bench.session.dma.ops.statistics.grantsOutstanding == 0)
    }

    /// A backend that still maps a ring page when the guest ends access:
    /// the device breaks, and neither the page nor the ref ever returns to
    /// the guest's allocators — later allocations never get them.
    @Test func accessEndedWhileTheBackendMapsARing() throws {
        let bench = try Bench(.grant)
        try bench.session.bringUp()
        let ring = try #require(bench.session.requests?.queue.ring)
        let backend = bench.session.dma.backend
        let held = try backend.hypercalls.mapGrantRef(ring.dmaAddress.grantRef, of: bench.guest.id, access: .writable)
        let teardown = bench.session.finish()
        let ringPages = XenPage.count(offset: 0, length: ring.size)
        #expect(teardown.broken && teardown.grantsOutstanding == ringPages && teardown.pagesLeaked == ringPages)
        #expect(bench.session.dma.ops.isBroken)
        #expect(!bench.guest.pages.isFree(ring.guestAddress.frame))
        #expect(!bench.guest.grants.isFree(ring.dmaAddress.grantRef))
        // The backend still reaches its page; the guest never hands it out.
        #expect(held.isMapped)
        let handedOut = allFreeFrames(bench.guest)
        #expect(!handedOut.contains(ring.guestAddress.frame))
        // The request buffers' grants all ended: their pages are free again.
        #expect(handedOut.contains(bench.session.slots.slots[0].first))
        // Further DMA on the device fails.
        #expect(throws: DMAError.deviceBroken) { try bench.session.dma.ops.allocateCoherent(size: 4096) }
    }

    /// A backend that keeps a mapping of a request's data buffer after it
    /// completed it: the guest's unmap fails, the device breaks, and that
    /// request's buffer pages stay out of the allocator for good.
    @Test func accessEndedWhileTheBackendMapsARequestBuffer() throws {
        let sticky = StickyBackend()
        let bench = try Bench(.grant, observer: sticky)
        sticky.me = bench.session.dma.backend
        try bench.session.bringUp()
        let runner = WorkloadRunner(session: bench.session, seed: 5, startsZeroed: true)
        let write = WorkItem(index: 0, operation: .write, sector: 8, length: 4096, pageOffset: 0)
        #expect(throws: RequestError.self) { try runner.run([write]) }
        let held = try #require(sticky.held)
        let teardown = bench.session.finish()
        #expect(teardown.broken && teardown.grantsOutstanding >= 1)
        #expect(held.isMapped)
        let slot = bench.session.slots.slots[0]
        #expect(teardown.pagesLeaked >= slot.pageCount)
        let handedOut = allFreeFrames(bench.guest)
        #expect(!handedOut.contains(slot.dataA.frame))
    }

    /// Allocates every free page of the guest, one by one.
    private func allFreeFrames(_ guest: Domain) -> [FrameNumber] {
        var frames: [FrameNumber] = []
        while let frame = try? guest.pages.allocate(pages: 1) { frames.append(frame) }
        return frames
    }

    /// Data written before a backend restart reads back after it, through
    /// a new backend, a new accessor and a new probe.
    @Test(arguments: [DMAKind.grant, .direct])
    func integrityAcrossABackendRestart(kind: DMAKind) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("disk.img")
        _ = FileManager.default.createFile(atPath: path, contents: Data(count: 4 << 20))
        let bench = try Bench(kind, image: try DiskImage.open(.file(path)))
        try bench.session.bringUp()
        let runner = WorkloadRunner(session: bench.session, seed: 11, startsZeroed: true)
        let first = try runner.run(workload(bench, count: 100))
        #expect(first.failures == 0, "\(first.messages)")
        try bench.session.restartBackend()
        try bench.session.bringUp()
        let readBack = runner.readBackItems(startingAt: 1000)
        #expect(!readBack.isEmpty)
        let second = try runner.run(readBack)
        #expect(second.failures == 0, "\(second.messages)")
        #expect(second.completed == readBack.count)
        #expect(bench.session.finish().grantsOutstanding == 0)
    }

    /// A grant-bound device must offer VERSION_1 and ACCESS_PLATFORM: the
    /// guest refuses to drive it otherwise, as Linux's probe does.
    @Test func grantBoundDeviceWithoutAccessPlatform() throws {
        var configuration = BackendConfiguration()
        configuration.requireAccessPlatform = false
        let bench = try Bench(.grant, configuration: configuration)
        #expect(throws: DriverError.missingFeature("device must provide VIRTIO_F_ACCESS_PLATFORM (it is bound to Xen grant DMA)")) {
            try bench.session.bringUp()
        }
        #expect(DeviceStatus(rawValue: bench.session.device.read(.status)).contains(.failed))
        _ = bench.session.finish()
    }

    @Test func deviceWithoutVersion1() throws {
        var configuration = BackendConfiguration()
        configuration.offerVersion1 = false
        let bench = try Bench(.direct, configuration: configuration)
        #expect(throws: DriverError.missingFeature("New virtio-mmio devices (version 2) must provide VIRTIO_F_VERSION_1 feature!")) {
            try bench.session.bringUp()
        }
        _ = bench.session.finish()
    }
}

/// A backend that maps the data buffer of the first request it serves a
/// second time and never lets go.
final class StickyBackend: RequestObserver, @unchecked Sendable {
    var me: Domain?
    private(set) var held: PageMapping?

    func queueActivated(size: Int, descriptors: DMAAddress, avail: DMAAddress, used: DMAAddress) {}

    func served(_ chain: MappedChain, accessor: BackendAccessor) {
        guard held == nil, let me, chain.readable.count > 1 else { return }
        let data = chain.readable[1].address
        held = try? me.hypercalls.mapGrantRef(data.grantRef, of: accessor.frontend, access: .readOnly)
    }
}
