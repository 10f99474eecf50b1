import GrantEngine

/// grantdt's loopback device: every request is a device-readable buffer
/// followed by a device-writable one; the device copies the first into
/// the second, so data crosses the grant boundary both ways. It stands in
/// for device types grantdt has no model of (i2c, gpio, ...).
final class LoopbackDevice: DeviceLogic {
    var deviceID: VirtioDeviceID { .loopback }
    var deviceFeatures: VirtioFeatures { [] }

    func readConfig(_ offset: UInt32) -> UInt32 { 0 }

    func serve(_ chain: MappedChain, features: VirtioFeatures) throws(MalformedRequest) -> UInt32 {
        let count = min(chain.readableLength, chain.writableLength)
        guard count > 0 else { throw MalformedRequest(reason: "loopback request without a readable and a writable buffer") }
        var failure: MemoryFault?
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 16) { buffer in
            do throws(MemoryFault) {
                try chain.read(at: 0, into: buffer)
                try chain.write(at: 0, from: UnsafeRawBufferPointer(buffer))
            } catch {
                failure = error
            }
        }
        if let failure { throw MalformedRequest(reason: "buffer access faulted: \(failure)") }
        return UInt32(count)
    }
}
