import Glibc
import GrantEngine
import Testing
@testable import VirtioRuntime

/// The virtio-mmio version 2 register file as the device presents it.
@Suite struct TransportTests {
    @Test func identityRegisters() throws {
        let bench = try Bench(.grant)
        let device = bench.session.device
        defer { _ = bench.session.finish() }
        #expect(device.read(.magicValue) == 0x7472_6976)
        #expect(device.read(.version) == 2)
        #expect(device.read(.deviceID) == 2)
        #expect(device.read(.vendorID) == MMIORegister.vendor)
        device.write(.deviceFeaturesSel, 1)
        #expect(VirtioFeatures(rawValue: UInt64(device.read(.deviceFeatures)) << 32).isSuperset(of: .grantRequired))
        device.write(.queueSel, 1)
        #expect(device.read(.queueNumMax) == 0)
        device.write(.queueSel, 0)
        #expect(device.read(.queueNumMax) == 1024)
        #expect(device.read(.shmLenLow) == .max && device.read(.shmLenHigh) == .max)
    }

    /// FEATURES_OK stays clear for a set the device cannot accept: a bit it
    /// did not offer, no VERSION_1, or (for a grant device) no
    /// ACCESS_PLATFORM.
    @Test(arguments: [
        VirtioFeatures([.version1, .accessPlatform, .packedRing]), [.accessPlatform], [.version1],
    ])
    func featuresOKRefused(accepted: VirtioFeatures) throws {
        let bench = try Bench(.grant)
        let device = bench.session.device
        defer { _ = bench.session.finish() }
        device.write(.status, 0)
        device.write(.status, DeviceStatus([.acknowledge, .driver]).rawValue)
        for half in 0..<2 {
            device.write(.driverFeaturesSel, UInt32(half))
            device.write(.driverFeatures, UInt32(truncatingIfNeeded: accepted.rawValue >> UInt64(32 * half)))
        }
        device.write(.status, DeviceStatus([.acknowledge, .driver, .featuresOK]).rawValue)
        #expect(!DeviceStatus(rawValue: device.read(.status)).contains(.featuresOK))
        // DRIVER_OK without FEATURES_OK does not start the device either.
        device.write(.status, DeviceStatus([.acknowledge, .driver, .driverOK]).rawValue)
        #expect(!DeviceStatus(rawValue: device.read(.status)).contains(.driverOK))
    }

    /// A Status write of 0 forgets everything: status, features, queue.
    @Test func resetForgetsEverything() throws {
        let bench = try Bench(.grant)
        try bench.session.bringUp()
        let device = bench.session.device
        #expect(device.read(.queueReady) == 1)
        bench.session.takeDown()
        #expect(device.read(.status) == 0 && device.read(.queueReady) == 0 && device.read(.interruptStatus) == 0)
        // The queue can be set up again: a new probe works.
        try bench.session.bringUp()
        #expect(device.read(.queueReady) == 1)
        #expect(bench.session.finish().grantsOutstanding == 0)
    }

    /// A queue size that is not a power of two is refused at QueueReady.
    @Test func queueSizeMustBeAPowerOfTwo() throws {
        let bench = try Bench(.grant)
        let device = bench.session.device
        defer { _ = bench.session.finish() }
        device.write(.queueSel, 0)
        device.write(.queueNum, 100)
        device.write(.queueReady, 1)
        #expect(device.read(.queueReady) == 0)
        #expect(DeviceStatus(rawValue: device.read(.status)).contains(.needsReset))
        #expect(device.fault?.contains("queue size 100") == true)
    }

    /// The configuration-change interrupt of DEVICE_NEEDS_RESET raised
    /// before the driver reads its interrupt mark (a device faster than the
    /// driver) still ends the driver's wait: without it the wait lasted
    /// until the 30-second timeout.
    @Test func needsResetRaisedBeforeTheDriverWaitsEndsTheWait() throws {
        let bench = try Bench(.grant)
        try bench.session.bringUp()
        defer { _ = bench.session.finish() }
        let requests = try #require(bench.session.requests)
        let device = bench.session.device
        let slot = bench.session.slots.slots[0]
        let before = device.interruptCount
        // A request without a status byte: the device asks for a reset.
        #expect(try requests.submit([RequestBuffer(address: slot.control, length: 16, direction: .toDevice)], token: 0))
        try requests.kick()
        while device.interruptCount == before { sched_yield() }
        let error = try #require(throws: RequestError.self) { try requests.waitForCompletions() }
        guard case .driver(.deviceNeedsReset(let reason)) = error else {
            Issue.record("expected DEVICE_NEEDS_RESET, got \(error)")
            return
        }
        #expect(reason?.contains("status byte") == true)
    }

    /// The status bits' and features' names, for messages.
    @Test func names() {
        #expect(DeviceStatus([.acknowledge, .driver, .featuresOK]).description == "ACKNOWLEDGE|DRIVER|FEATURES_OK")
        #expect(VirtioFeatures([.version1, .accessPlatform, .blockFlush]).description == "FLUSH|VERSION_1|ACCESS_PLATFORM")
    }
}
