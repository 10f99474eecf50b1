import GrantEngine

/// One virtio-mmio device end to end: its backend (device model, worker
/// thread, `BackendAccessor` in the backend domain, storage) and its
/// frontend (transport driver, virtqueue, DMA ops, request buffers in the
/// guest), with the lifecycle Linux and Xen give it: probe, reset,
/// backend restart, teardown.
///
/// Teardown order, as Linux removes a device: Status ← 0 (returns once the
/// backend stopped and unmapped everything), then the frontend unmaps what
/// was in flight and frees the rings, ending their grants. An end of access
/// that fails breaks the device: its grants and pages stay leaked, never
/// reused. Used from one thread (the guest's).
final class DeviceSession {
    let path: String
    let kind: DeviceKind
    let system: GuestSystem
    let dma: DeviceDMA
    let image: DiskImage?
    let queueDepth: Int
    let maxRequest: Int
    let slots: RequestSlots
    private(set) var configuration: BackendConfiguration
    private let observer: RequestObserver?
    private(set) var device: VirtioMMIODevice
    private(set) var accessor: BackendAccessor
    private(set) var logic: DeviceLogic
    private(set) var driver: VirtioMMIODriver
    private(set) var requests: RequestQueue?
    /// Set once an end of access failed.
    private(set) var brokenBy: String?
    /// Slots whose buffers a backend may still reach: never freed.
    private(set) var quarantinedSlots: Set<Int> = []
    private var finished = false

    init(
        path: String, kind: DeviceKind, system: GuestSystem, dma: DeviceDMA, image: DiskImage?, queueDepth: Int,
        maxRequest: Int, observer: RequestObserver? = nil, configuration: BackendConfiguration? = nil
    ) throws(RunError) {
        self.path = path
        self.kind = kind
        self.system = system
        self.dma = dma
        self.image = image
        self.queueDepth = queueDepth
        self.maxRequest = maxRequest
        self.observer = observer
        self.configuration = configuration ?? BackendConfiguration(
            queueSizeMax: 1024, requireAccessPlatform: dma.kind != .direct, longLivedRegions: dma.longLived)
        slots = try RequestSlots(count: queueDepth, maxRequest: maxRequest, guest: system.guest)
        (device, accessor, logic) = try Self.makeBackend(
            path: path, kind: kind, dma: dma, image: image, guest: system.guest.id, configuration: self.configuration,
            observer: observer)
        driver = VirtioMMIODriver(device: device, dma: dma.ops, grantBound: dma.grantBound, memory: system.guest.memory)
    }

    var isUp: Bool { requests != nil }
    var blockDevice: BlockDevice? { logic as? BlockDevice }

    // MARK: Lifecycle

    /// Probes the device and sets up its queue; DRIVER_OK.
    func bringUp() throws(DriverError) {
        let supported: VirtioFeatures = kind == .block ? [.blockFlush, .blockReadOnly, .blockSize, .blockSizeMax, .blockSegmentMax] : []
        try driver.negotiate(expecting: kind == .block ? .block : .loopback, supported: supported)
        try checkLimits()
        let queue = try driver.setUpQueue(maxSize: configuration.queueSizeMax)
        do throws(DriverError) {
            try driver.start()
        } catch {
            driver.reset()
            try? driver.freeRing(queue)
            throw error
        }
        requests = RequestQueue(driver: driver, queue: queue)
    }

    /// A request is one data segment of up to `maxRequest` bytes: the
    /// device's `size_max` and `seg_max`, when offered, must allow that.
    private func checkLimits() throws(DriverError) {
        guard kind == .block else { return }
        if driver.features.contains(.blockSizeMax), driver.config32(BlockProtocol.sizeMaxOffset) < UInt32(maxRequest) {
            throw .ring("the device's size_max \(driver.config32(BlockProtocol.sizeMaxOffset)) is below the \(maxRequest)-byte requests")
        }
        if driver.features.contains(.blockSegmentMax), driver.config32(BlockProtocol.segMaxOffset) < 1 {
            throw .ring("the device's seg_max is 0")
        }
    }

    /// Resets the device (returning once the backend stopped and unmapped),
    /// unmaps the requests it did not complete, frees the rings. Returns
    /// the tokens of those requests.
    @discardableResult
    func takeDown() -> [Int] {
        guard let requests else { return [] }
        self.requests = nil
        driver.reset()
        var abandoned: [Int] = []
        do throws(RequestError) {
            abandoned = try requests.abandonInFlight()
        } catch {
            recordBroken(error.description)
        }
        if let cause = requests.brokenBy { recordBroken(cause.description) }
        quarantinedSlots.formUnion(requests.quarantined)
        do throws(DMAError) {
            try driver.freeRing(requests.queue)
        } catch {
            recordBroken(error.description)
        }
        return abandoned
    }

    /// Stops the backend for good and starts a fresh one over the same
    /// storage, as when a backend process restarts; the frontend probes
    /// it again.
    func restartBackend() throws(RunError) {
        takeDown()
        device.shutdown()
        (device, accessor, logic) = try Self.makeBackend(
            path: path, kind: kind, dma: dma, image: image, guest: system.guest.id, configuration: configuration,
            observer: observer)
        driver = VirtioMMIODriver(device: device, dma: dma.ops, grantBound: dma.grantBound, memory: system.guest.memory)
    }

    /// What teardown found.
    struct Teardown {
        /// Grants the device's DMA ops gave out and never got back.
        let grantsOutstanding: Int
        let broken: Bool
        /// Guest pages kept out of the allocator for good.
        let pagesLeaked: Int
    }

    /// Takes the device down, stops the backend, releases the grant pool,
    /// returns the request buffers to the guest — except those whose grants
    /// could not be ended, which stay leaked, as a backend may still reach
    /// them.
    func finish() -> Teardown {
        precondition(!finished, "a device session finishes once")
        finished = true
        takeDown()
        device.shutdown()
        if let pool = dma.ops as? GrantPoolDMAOps, !pool.isBroken {
            do throws(DMAError) { try pool.releasePool() } catch { recordBroken(error.description) }
        }
        let broken = brokenBy != nil || dma.ops.isBroken
        let statistics = dma.ops.statistics
        var leaked = statistics.pagesLeaked
        for (index, slot) in slots.slots.enumerated() {
            if quarantinedSlots.contains(index) {
                leaked += slot.pageCount
            } else {
                system.guest.pages.free(slot.first, pages: slot.pageCount)
            }
        }
        return Teardown(grantsOutstanding: statistics.grantsOutstanding, broken: broken, pagesLeaked: leaked)
    }

    private func recordBroken(_ reason: String) {
        brokenBy = brokenBy ?? reason
    }

    private static func makeBackend(
        path: String, kind: DeviceKind, dma: DeviceDMA, image: DiskImage?, guest: DomainID,
        configuration: BackendConfiguration, observer: RequestObserver?
    ) throws(RunError) -> (VirtioMMIODevice, BackendAccessor, DeviceLogic) {
        let accessor = dma.accessor(frontend: guest)
        let logic: DeviceLogic
        switch kind {
        case .block:
            guard let image else { throw .options("\(path): a virtio-blk device needs a disk image") }
            // GET_ID's answer: "grantdt-" and the unit address (20 bytes at most).
            let unit = path.split(separator: "@").last.map(String.init) ?? path
            logic = BlockDevice(image: image, identifier: "grantdt-" + unit, queueSize: configuration.queueSizeMax,
                                readOnly: image.isReadOnly)
        case .loopback:
            logic = LoopbackDevice()
        }
        let device = VirtioMMIODevice(logic: logic, accessor: accessor, configuration: configuration, observer: observer)
        guard device.start() else { throw .machine("\(path): cannot start a backend thread") }
        return (device, accessor, logic)
    }
}
