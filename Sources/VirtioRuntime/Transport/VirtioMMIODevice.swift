import GrantEngine
import Synchronization

/// How a backend presents its device.
struct BackendConfiguration: Sendable {
    /// `QueueNumMax` of queue 0.
    var queueSizeMax = 1024
    /// Offer VERSION_1 (a version 2 device must).
    var offerVersion1 = true
    /// Offer ACCESS_PLATFORM, and refuse FEATURES_OK when the driver does
    /// not accept it: a backend that reaches guest memory only through
    /// grants or a pool cannot work with raw guest-physical addresses.
    var requireAccessPlatform = true
    /// Regions the backend maps once, with the first queue, and unmaps at
    /// reset: a grant pool the frontend announced.
    var longLivedRegions: [LongLivedRegion] = []
}

/// A region of guest memory the toolstack tells the backend about (our
/// grant pool: the frontend grants it once, the backend maps it once).
struct LongLivedRegion: Hashable, Sendable {
    let address: DMAAddress
    let length: Int
}

/// Sees what a backend does with each request (a hostile backend's
/// reconnaissance and its in-request attacks). Runs on the worker thread
/// while the request's buffers are still mapped.
protocol RequestObserver: AnyObject, Sendable {
    /// The queue's rings became ready at these device addresses.
    func queueActivated(size: Int, descriptors: DMAAddress, avail: DMAAddress, used: DMAAddress)
    /// A request was served; `chain` is still mapped.
    func served(_ chain: MappedChain, accessor: BackendAccessor)
}

/// The device side of a virtio-mmio version 2 transport (virtio.md §3.2),
/// run by the backend: the register file, the status handshake and
/// feature negotiation, queue activation (rings mapped once, through the
/// backend's `BackendAccessor`), interrupts, and a worker thread that
/// serves the queue while the driver keeps requests in flight.
///
/// A Status write of 0 returns only after the worker has stopped and the
/// backend has unmapped every ring and buffer (Xen's ioreq makes the
/// vCPU wait for the emulator the same way).
///
/// `@unchecked Sendable`: all shared state is in `state` (a monitor) or
/// atomics; `worker` is set by `start` and joined by `shutdown`, both
/// called by the thread that owns the device.
final class VirtioMMIODevice: MMIOWindow, @unchecked Sendable {
    let logic: DeviceLogic
    let accessor: BackendAccessor
    let configuration: BackendConfiguration
    let observer: RequestObserver?
    /// How long the driver waits for an interrupt before giving up.
    static let interruptTimeoutSeconds = 30

    private enum Condition: Int {
        /// The worker waits for notifications and commands.
        case work
        /// The driver waits for interrupts.
        case interrupt
        /// A reset waits for the worker to go idle.
        case idle
    }

    private struct Registers {
        var status: DeviceStatus = []
        var deviceFeaturesSel: UInt32 = 0
        var driverFeaturesSel: UInt32 = 0
        var driverFeatures: UInt64 = 0
        var negotiated: VirtioFeatures = []
        var queueSel: UInt32 = 0
        var queueNum: UInt32 = 0
        var queueReady = false
        var queueAddresses: [UInt64] = [0, 0, 0]
        var queue: QueueDevice?
        var regionsMapped = false
        var configGeneration: UInt32 = 0
        /// Why the device set DEVICE_NEEDS_RESET.
        var fault: String?
        // Worker control.
        var running = false
        var notified = false
        var busy = false
        var exiting = false
    }

    private let state = Monitor(Registers(), conditions: 3)
    /// Set while a reset waits, so the worker stops between requests.
    private let stopRequested = Atomic<Bool>(false)
    private var worker: WorkerThread?

    // The atomics both threads touch on every request live on cache lines
    // of their own, together: the worker reads the fields above on every
    // request, and when they shared a line with the driver's counters each
    // QueueNotify or InterruptACK took that line away from it (a quarter
    // of `serveOne`'s samples sat on one load). Together, because raising
    // an interrupt touches three of them in a row: one line moves, not
    // three.
    private let readMostlyEnd = CacheLinePadding()
    /// Interrupts raised so far: the driver spins on this before blocking.
    private let interrupts = Atomic<UInt64>(0)
    /// The InterruptStatus register, and drivers blocked waiting for an
    /// interrupt: atomics, so that raising an interrupt takes no lock the
    /// driver takes too (the worker raises one per request).
    private let interruptStatus = Atomic<UInt32>(0)
    private let driverWaiting = Atomic<Int>(0)
    /// QueueNotify writes so far: the worker spins on this before blocking.
    private let notifications = Atomic<UInt64>(0)
    private let served = Atomic<Int>(0)
    private let atomicsEnd = CacheLinePadding()

    init(logic: DeviceLogic, accessor: BackendAccessor, configuration: BackendConfiguration, observer: RequestObserver? = nil) {
        self.logic = logic
        self.accessor = accessor
        self.configuration = configuration
        self.observer = observer
    }

    /// Starts the worker thread; false if the system has no thread for it.
    func start() -> Bool {
        worker = WorkerThread { [self] in workerLoop() }
        return worker != nil
    }

    /// Stops the backend for good: a reset (unmapping everything), then the
    /// worker exits.
    func shutdown() {
        reset()
        state.withLock { $0.exiting = true }
        state.broadcast(Condition.work.rawValue)
        worker?.join()
    }

    /// Features the device offers.
    var offeredFeatures: VirtioFeatures {
        var features = logic.deviceFeatures
        if configuration.offerVersion1 { features.insert(.version1) }
        if configuration.requireAccessPlatform { features.insert(.accessPlatform) }
        return features
    }

    /// Why the device needs a reset, if it does.
    var fault: String? { state.withLock { $0.fault } }
    /// Requests served since the device was created.
    var requestsServed: Int { served.load(ordering: .relaxed) }

    // MARK: Registers

    func read(_ offset: UInt32) -> UInt32 {
        if offset >= MMIORegister.configOffset { return logic.readConfig(offset - MMIORegister.configOffset) }
        guard let register = MMIORegister(rawValue: offset) else { return 0 }
        if register == .interruptStatus { return interruptStatus.load(ordering: .acquiring) }
        return state.withLock { registers -> UInt32 in
            switch register {
            case .magicValue: return MMIORegister.magic
            case .version: return MMIORegister.modernVersion
            case .deviceID: return logic.deviceID.rawValue
            case .vendorID: return MMIORegister.vendor
            case .deviceFeatures:
                let offered = offeredFeatures.rawValue
                switch registers.deviceFeaturesSel {
                case 0: return UInt32(truncatingIfNeeded: offered)
                case 1: return UInt32(truncatingIfNeeded: offered >> 32)
                default: return 0
                }
            case .queueNumMax: return registers.queueSel == 0 ? UInt32(configuration.queueSizeMax) : 0
            case .queueReady: return registers.queueSel == 0 && registers.queueReady ? 1 : 0
            case .status: return registers.status.rawValue
            case .configGeneration: return registers.configGeneration
            // No shared-memory regions: their length reads as all ones.
            case .shmLenLow, .shmLenHigh, .shmBaseLow, .shmBaseHigh: return .max
            default: return 0
            }
        }
    }

    func write(_ offset: UInt32, _ value: UInt32) {
        guard let register = MMIORegister(rawValue: offset) else { return }
        switch register {
        case .status: writeStatus(DeviceStatus(rawValue: value))
        case .queueReady: if value == 1 { activateQueue() }
        case .queueNotify:
            guard value == 0 else { return }
            notifications.wrappingAdd(1, ordering: .releasing)
            state.withLock { $0.notified = true }
            state.broadcast(Condition.work.rawValue)
        case .interruptACK: interruptStatus.bitwiseAnd(~value, ordering: .acquiringAndReleasing)
        default:
            state.withLock { registers in Self.latch(register, value, into: &registers) }
        }
    }

    /// The plain register writes: selectors, feature halves, queue setup
    /// (ignored while the queue is ready).
    private static func latch(_ register: MMIORegister, _ value: UInt32, into registers: inout Registers) {
        let queueConfigurable = registers.queueSel == 0 && !registers.queueReady
        switch register {
        case .deviceFeaturesSel: registers.deviceFeaturesSel = value
        case .driverFeaturesSel: registers.driverFeaturesSel = value
        case .driverFeatures:
            guard !registers.status.contains(.featuresOK), registers.driverFeaturesSel < 2 else { return }
            let shift = UInt64(32 * registers.driverFeaturesSel)
            registers.driverFeatures = registers.driverFeatures & ~(0xffff_ffff << shift) | UInt64(value) << shift
        case .queueSel: registers.queueSel = value
        case .queueNum: if queueConfigurable { registers.queueNum = value }
        case .queueDescLow, .queueDescHigh, .queueDriverLow, .queueDriverHigh, .queueDeviceLow, .queueDeviceHigh:
            guard queueConfigurable else { return }
            let part = Int(register.rawValue - MMIORegister.queueDescLow.rawValue) / 0x10
            let shift = register.rawValue & 4 == 0 ? UInt64(0) : 32
            registers.queueAddresses[part] = registers.queueAddresses[part] & ~(0xffff_ffff << shift) | UInt64(value) << shift
        default: break
        }
    }

    // MARK: Status

    private func writeStatus(_ value: DeviceStatus) {
        guard value.rawValue != 0 else { return reset() }
        let start = state.withLock { registers -> Bool in
            let old = registers.status
            var new = value
            if new.contains(.featuresOK) && !old.contains(.featuresOK) {
                if let negotiated = acceptable(VirtioFeatures(rawValue: registers.driverFeatures)) {
                    registers.negotiated = negotiated
                } else {
                    new.remove(.featuresOK)
                }
            }
            if new.contains(.driverOK) && !new.contains(.featuresOK) { new.remove(.driverOK) }
            // The device keeps its own DEVICE_NEEDS_RESET.
            registers.status = new.union(old.intersection(.needsReset))
            guard new.contains(.driverOK), !old.contains(.driverOK), !registers.status.contains(.needsReset) else { return false }
            registers.running = true
            registers.notified = true
            return true
        }
        if start { state.broadcast(Condition.work.rawValue) }
    }

    /// The accepted set, if the device can work with it: only offered
    /// bits, VERSION_1, and ACCESS_PLATFORM when the device requires it.
    private func acceptable(_ accepted: VirtioFeatures) -> VirtioFeatures? {
        guard accepted.isSubset(of: offeredFeatures), accepted.contains(.version1) else { return nil }
        if configuration.requireAccessPlatform && !accepted.contains(.accessPlatform) { return nil }
        return accepted
    }

    /// Status ← 0: stop the worker, wait until it is idle, unmap every
    /// ring, pool and cached mapping, forget all settings.
    private func reset() {
        stopRequested.store(true, ordering: .releasing)
        state.withLock { $0.running = false }
        state.broadcast(Condition.work.rawValue)
        state.wait(on: Condition.idle.rawValue) { $0.busy ? nil : () }
        accessor.reset()
        state.withLock { registers in
            let exiting = registers.exiting
            registers = Registers()
            registers.exiting = exiting
            interruptStatus.store(0, ordering: .releasing)
        }
        stopRequested.store(false, ordering: .releasing)
    }

    // MARK: Queue activation

    /// QueueReady ← 1: check the size, map the three rings (and any
    /// announced long-lived region) once; on failure the queue stays not
    /// ready and the device asks for a reset.
    private func activateQueue() {
        let setup = state.withLock { registers -> (num: Int, addresses: [UInt64], mapRegions: Bool)? in
            guard registers.queueSel == 0, !registers.queueReady else { return nil }
            return (Int(registers.queueNum), registers.queueAddresses, !registers.regionsMapped)
        }
        guard let setup else { return }
        let size = setup.num
        guard size > 0, size <= configuration.queueSizeMax, size & (size - 1) == 0 else {
            return needsReset("queue size \(size) is not a power of 2 up to \(configuration.queueSizeMax)")
        }
        let addresses = setup.addresses.map { DMAAddress(rawValue: $0) }
        let queue: QueueDevice
        do throws(BackendAccessError) {
            if setup.mapRegions {
                for region in configuration.longLivedRegions { _ = try accessor.mapLongLived(region.address, length: region.length) }
            }
            queue = QueueDevice(
                size: size,
                descriptors: try accessor.mapLongLived(addresses[0], length: SplitRing.descriptorTableSize(size)),
                avail: try accessor.mapLongLived(addresses[1], length: SplitRing.availSize(size)),
                used: try accessor.mapLongLived(addresses[2], length: SplitRing.usedSize(size)))
        } catch {
            return needsReset("cannot map the rings: \(error)")
        }
        state.withLock { registers in
            registers.regionsMapped = true
            registers.queue = queue
            registers.queueReady = true
        }
        observer?.queueActivated(size: size, descriptors: addresses[0], avail: addresses[1], used: addresses[2])
    }

    // MARK: Worker

    /// Arrays the worker reuses from request to request (emptied, their
    /// storage kept), so serving a request allocates nothing.
    private struct RequestScratch {
        var descriptors: [Descriptor] = []
        var buffers: [BufferRequest] = []
        var mapped: [BufferMapping] = []
    }

    private func workerLoop() {
        var scratch = RequestScratch()
        var seen = notifications.load(ordering: .acquiring)
        while true {
            // Often the driver publishes more at once: catch it spinning.
            _ = Spin.until { notifications.load(ordering: .acquiring) != seen || stopRequested.load(ordering: .acquiring) }
            let next = state.wait(on: Condition.work.rawValue) { registers -> (queue: QueueDevice?, features: VirtioFeatures)? in
                if registers.exiting { return (nil, []) }
                guard registers.running, registers.notified, let queue = registers.queue else { return nil }
                registers.notified = false
                registers.busy = true
                return (queue, registers.negotiated)
            }
            guard let queue = next.queue else { return }
            seen = notifications.load(ordering: .acquiring)
            serve(queue, features: next.features, scratch: &scratch)
            // No mapping outlives the batch (a reset may follow).
            scratch.mapped.removeAll(keepingCapacity: true)
            state.withLock { $0.busy = false }
            state.broadcast(Condition.idle.rawValue)
        }
    }

    /// Serves chains until the ring is empty (re-checked after clearing
    /// NO_NOTIFY, so a chain published meanwhile is not missed) or a reset
    /// asks the worker to stop.
    private func serve(_ queue: QueueDevice, features: VirtioFeatures, scratch: inout RequestScratch) {
        do throws(ChainError) {
            while !stopRequested.load(ordering: .acquiring) {
                try queue.suppressNotifications(true)
                // avail.idx is read once per batch, not before every chain:
                // the chains published by then are served, then it is read
                // again.
                var batch = try queue.pendingCount()
                while batch > 0, !stopRequested.load(ordering: .acquiring) {
                    guard try serveOne(queue, features: features, scratch: &scratch) else { return }
                    batch -= 1
                    if batch == 0 { batch = try queue.pendingCount() }
                }
                try queue.suppressNotifications(false)
                guard try queue.pendingCount() > 0 else { return }
            }
        } catch {
            needsReset(error.description)
        }
    }

    /// One request: map every buffer (read-only when device-readable) in
    /// one go, let the device logic serve it, unmap, publish the used
    /// element, raise the interrupt. False when the device had to ask for
    /// a reset.
    private func serveOne(_ queue: QueueDevice, features: VirtioFeatures, scratch: inout RequestScratch) throws(ChainError) -> Bool {
        let head = try queue.takeChain(into: &scratch.descriptors)
        let descriptors = scratch.descriptors
        // One replacement rather than emptying and appending one by one.
        scratch.buffers.replaceSubrange(scratch.buffers.indices, with: descriptors.lazy.map { descriptor in
            BufferRequest(address: descriptor.dmaAddress, length: Int(descriptor.length), access: descriptor.isWritable ? .writable : .readOnly)
        })
        scratch.mapped.removeAll(keepingCapacity: true)
        do throws(BackendAccessError) {
            try accessor.map(scratch.buffers, into: &scratch.mapped)
        } catch {
            needsReset("cannot map a buffer of the chain at \(head): \(error)")
            return false
        }
        let mapped = scratch.mapped
        let firstWritable = descriptors.firstIndex(where: \.isWritable) ?? descriptors.count
        let chain = MappedChain(head: head, descriptors: descriptors, buffers: mapped, firstWritable: firstWritable)
        let written: UInt32
        do throws(MalformedRequest) {
            written = try logic.serve(chain, features: features)
        } catch {
            accessor.unmap(mapped)
            needsReset("request at descriptor \(head): \(error)")
            return false
        }
        observer?.served(chain, accessor: accessor)
        accessor.unmap(mapped)
        try queue.complete(head: head, written: written)
        served.wrappingAdd(1, ordering: .relaxed)
        if try queue.driverWantsInterrupts() { raise(.usedBuffer) }
        return true
    }

    /// Sets an InterruptStatus bit and wakes the driver if it sleeps.
    ///
    /// Without a lock: the driver counts itself in `driverWaiting` before
    /// it checks `interrupts`, and this counts the interrupt before it
    /// checks `driverWaiting`, both sequentially consistent, so at least
    /// one of the two sees the other. A driver seen waiting may have
    /// checked just before the count moved: taking the monitor's lock
    /// waits until it sleeps, so the broadcast cannot fall between its
    /// check and its sleep.
    private func raise(_ cause: InterruptCause) {
        interruptStatus.bitwiseOr(cause.rawValue, ordering: .releasing)
        interrupts.wrappingAdd(1, ordering: .sequentiallyConsistent)
        guard driverWaiting.load(ordering: .sequentiallyConsistent) > 0 else { return }
        state.withLock { _ in }
        state.broadcast(Condition.interrupt.rawValue)
    }

    /// DEVICE_NEEDS_RESET with a configuration-change interrupt; the worker
    /// stops serving.
    private func needsReset(_ reason: String) {
        state.withLock { registers in
            registers.status.insert(.needsReset)
            registers.fault = registers.fault ?? reason
            registers.running = false
        }
        raise(.configChange)
    }

    // MARK: The driver's interrupt line

    /// The number of interrupts raised so far.
    var interruptCount: UInt64 { interrupts.load(ordering: .acquiring) }

    /// Waits until more than `seen` interrupts were raised, or the device
    /// needs a reset: a short spin (the device is often about to answer),
    /// then a blocking wait. Returns nil after `interruptTimeoutSeconds`
    /// without either.
    ///
    /// A device that needs a reset keeps its line asserted, as the
    /// level-triggered virtio-mmio interrupt does while InterruptStatus
    /// holds the configuration-change bit: a driver that read its mark
    /// after that interrupt was raised would otherwise wait for another
    /// one that never comes.
    func waitForInterrupt(after seen: UInt64) -> UInt64? {
        if Spin.until({ interrupts.load(ordering: .acquiring) > seen }) { return interrupts.load(ordering: .acquiring) }
        driverWaiting.wrappingAdd(1, ordering: .sequentiallyConsistent)
        let count = state.wait(on: Condition.interrupt.rawValue, seconds: Self.interruptTimeoutSeconds) { registers -> UInt64? in
            let count = interrupts.load(ordering: .acquiring)
            return count > seen || registers.status.contains(.needsReset) ? count : nil
        }
        driverWaiting.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return count
    }
}
