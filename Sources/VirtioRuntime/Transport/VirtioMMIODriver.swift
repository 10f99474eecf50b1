import GrantEngine

/// Why the guest could not bring a device up or keep driving it; the
/// texts follow Linux's `virtio_mmio.c`, virtio core and grant DMA code.
enum DriverError: Error, Hashable, Sendable, CustomStringConvertible {
    case wrongMagic(UInt32)
    case unsupportedVersion(UInt32)
    /// DeviceID 0: a placeholder, no device.
    case noDevice
    case unexpectedDevice(found: UInt32, expected: UInt32)
    /// The device lacks a feature the driver must have.
    case missingFeature(String)
    /// The device did not keep FEATURES_OK.
    case featuresRejected(VirtioFeatures)
    case queueUnavailable
    case queueAlreadyReady
    /// The device did not accept the queue (QueueReady reads 0).
    case queueRejected(String?)
    case dma(DMAError)
    case ring(String)
    /// The device set DEVICE_NEEDS_RESET.
    case deviceNeedsReset(String?)
    /// No interrupt for this many seconds.
    case timeout(seconds: Int)

    var description: String {
        switch self {
        case .wrongMagic(let value): "Wrong magic value 0x\(String(value, radix: 16))!"
        case .unsupportedVersion(let version):
            "Version \(version) not supported! (grant DMA needs virtio-mmio version 2: version 1 passes 32-bit queue PFNs)"
        case .noDevice: "DeviceID 0: no device behind this window"
        case .unexpectedDevice(let found, let expected): "DeviceID \(found), expected \(expected)"
        case .missingFeature(let message): message
        case .featuresRejected(let features): "the device refused FEATURES_OK for \(features)"
        case .queueUnavailable: "queue 0 is not available (QueueNumMax is 0)"
        case .queueAlreadyReady: "queue 0 is already ready before set-up"
        case .queueRejected(let reason): "the device did not enable queue 0" + (reason.map { ": \($0)" } ?? "")
        case .dma(let error): "DMA: \(error)"
        case .ring(let reason): reason
        case .deviceNeedsReset(let reason): "the device needs a reset" + (reason.map { ": \($0)" } ?? "")
        case .timeout(let seconds): "no interrupt from the device for \(seconds) s"
        }
    }
}

/// The guest's virtio-mmio transport driver (Linux `virtio_mmio.c` with
/// the virtio core's probe): checks the window, resets, walks the status
/// handshake, negotiates features — refusing a grant-bound device without
/// VERSION_1 and ACCESS_PLATFORM, as the Xen grant callback makes Linux do —
/// sets up queue 0 in memory from the device's DMA ops, and waits for
/// interrupts. Used from the guest's thread only.
final class VirtioMMIODriver {
    let device: VirtioMMIODevice
    let dma: any DMAOps
    /// Whether the device tree put the device behind `xen,grant-dma`.
    let grantBound: Bool
    /// The guest's own RAM, where the rings live.
    let memory: GuestMemory
    private(set) var features: VirtioFeatures = []
    private var seenInterrupts: UInt64 = 0

    init(device: VirtioMMIODevice, dma: any DMAOps, grantBound: Bool, memory: GuestMemory) {
        self.device = device
        self.dma = dma
        self.grantBound = grantBound
        self.memory = memory
    }

    var status: DeviceStatus { DeviceStatus(rawValue: device.read(.status)) }

    /// Probe up to FEATURES_OK: window checks, reset, ACKNOWLEDGE, DRIVER,
    /// features (`supported` device-type bits plus VERSION_1 and, when
    /// offered, ACCESS_PLATFORM).
    func negotiate(expecting type: VirtioDeviceID, supported: VirtioFeatures) throws(DriverError) {
        let magic = device.read(.magicValue)
        guard magic == MMIORegister.magic else { throw .wrongMagic(magic) }
        let version = device.read(.version)
        guard version == MMIORegister.modernVersion else { throw .unsupportedVersion(version) }
        let id = device.read(.deviceID)
        guard id != 0 else { throw .noDevice }
        guard id == type.rawValue else { throw .unexpectedDevice(found: id, expected: type.rawValue) }

        reset()
        setStatus(.acknowledge)
        setStatus([.acknowledge, .driver])
        device.write(.deviceFeaturesSel, 0)
        var offered = UInt64(device.read(.deviceFeatures))
        device.write(.deviceFeaturesSel, 1)
        offered |= UInt64(device.read(.deviceFeatures)) << 32
        let offeredSet = VirtioFeatures(rawValue: offered)
        guard offeredSet.contains(.version1) else {
            fail()
            throw .missingFeature("New virtio-mmio devices (version 2) must provide VIRTIO_F_VERSION_1 feature!")
        }
        if grantBound {
            for (feature, name) in [(VirtioFeatures.version1, "VIRTIO_F_VERSION_1"), (.accessPlatform, "VIRTIO_F_ACCESS_PLATFORM")]
            where !offeredSet.contains(feature) {
                fail()
                throw .missingFeature("device must provide \(name) (it is bound to Xen grant DMA)")
            }
        }
        let accepted = offeredSet.intersection(supported.union([.version1, .accessPlatform]))
        device.write(.driverFeaturesSel, 0)
        device.write(.driverFeatures, UInt32(truncatingIfNeeded: accepted.rawValue))
        device.write(.driverFeaturesSel, 1)
        device.write(.driverFeatures, UInt32(truncatingIfNeeded: accepted.rawValue >> 32))
        setStatus([.acknowledge, .driver, .featuresOK])
        guard status.contains(.featuresOK) else {
            fail()
            throw .featuresRejected(accepted)
        }
        features = accepted
    }

    /// Sets up queue 0 with at most `maxSize` entries in one coherent
    /// allocation from the DMA ops.
    func setUpQueue(maxSize: Int) throws(DriverError) -> QueueDriver {
        device.write(.queueSel, 0)
        guard device.read(.queueReady) == 0 else { throw .queueAlreadyReady }
        let limit = Int(device.read(.queueNumMax))
        guard limit > 0 else { throw .queueUnavailable }
        var size = 1
        while size * 2 <= min(limit, maxSize, SplitRing.maxSize) { size *= 2 }
        let ring: CoherentBuffer
        do throws(DMAError) {
            ring = try dma.allocateCoherent(size: SplitRing.Layout(size: size).totalSize)
        } catch {
            throw .dma(error)
        }
        let queue = QueueDriver(index: 0, size: size, ring: ring, memory: memory)
        do throws(QueueError) { try queue.clear() } catch { throw .ring(error.description) }
        device.write(.queueNum, UInt32(size))
        for (register, address) in [
            (MMIORegister.queueDescLow, queue.descriptorAddress), (.queueDriverLow, queue.availAddress),
            (.queueDeviceLow, queue.usedAddress),
        ] {
            device.write(register.rawValue, UInt32(truncatingIfNeeded: address.rawValue))
            device.write(register.rawValue + 4, UInt32(truncatingIfNeeded: address.rawValue >> 32))
        }
        device.write(.queueReady, 1)
        guard device.read(.queueReady) == 1 else {
            try? freeRing(queue)
            throw .queueRejected(device.fault)
        }
        return queue
    }

    /// DRIVER_OK: the device may start using the queue.
    func start() throws(DriverError) {
        setStatus([.acknowledge, .driver, .featuresOK, .driverOK])
        let now = status
        guard now.contains(.driverOK), !now.contains(.needsReset) else { throw .deviceNeedsReset(device.fault) }
    }

    /// Reads a 64-bit configuration field as two 32-bit halves, retrying
    /// while ConfigGeneration changes.
    func config64(_ offset: UInt32) -> UInt64 {
        while true {
            let generation = device.read(.configGeneration)
            let value = UInt64(device.read(MMIORegister.configOffset + offset))
                | UInt64(device.read(MMIORegister.configOffset + offset + 4)) << 32
            if device.read(.configGeneration) == generation { return value }
        }
    }

    func config32(_ offset: UInt32) -> UInt32 { device.read(MMIORegister.configOffset + offset) }

    /// QueueNotify for queue 0.
    func notify() { device.write(.queueNotify, 0) }

    /// The interrupts seen so far: read it before checking the used ring,
    /// then pass it to `waitForInterrupt` so none is missed.
    var interruptMark: UInt64 { device.interruptCount }

    /// Waits for an interrupt raised after `mark`, acknowledges it, and
    /// fails if the device asks for a reset.
    func waitForInterrupt(after mark: UInt64) throws(DriverError) {
        guard let count = device.waitForInterrupt(after: max(mark, seenInterrupts)) else {
            throw .timeout(seconds: VirtioMMIODevice.interruptTimeoutSeconds)
        }
        seenInterrupts = count
        let cause = device.read(.interruptStatus)
        device.write(.interruptACK, cause)
        if status.contains(.needsReset) { throw .deviceNeedsReset(device.fault) }
    }

    /// Status ← 0; returns once the backend has stopped and unmapped
    /// everything.
    func reset() {
        device.write(.status, 0)
        seenInterrupts = device.interruptCount
    }

    /// Frees the rings (ending their grants); after `reset` only.
    func freeRing(_ queue: QueueDriver) throws(DMAError) {
        try dma.freeCoherent(queue.ring)
    }

    private func setStatus(_ value: DeviceStatus) { device.write(.status, value.rawValue) }

    private func fail() {
        setStatus(DeviceStatus(rawValue: device.read(.status)).union(.failed))
    }
}
