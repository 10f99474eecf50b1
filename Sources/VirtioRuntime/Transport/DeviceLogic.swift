/// A request the device could not serve in a way the driver can be told
/// about: the chain has no place for a status, or its buffers fault. The
/// device then sets DEVICE_NEEDS_RESET (virtio.md §5.7).
struct MalformedRequest: Error, Hashable, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

/// What one device type does; the transport, the queue and the worker are
/// shared by all types. Called from the backend's worker thread only
/// (`serve`) and from register accesses (`readConfig`).
protocol DeviceLogic: AnyObject, Sendable {
    var deviceID: VirtioDeviceID { get }
    /// The device-type feature bits offered (the transport adds
    /// VERSION_1 and ACCESS_PLATFORM).
    var deviceFeatures: VirtioFeatures { get }
    /// A 32-bit read of the configuration space at `offset` (from 0x100).
    func readConfig(_ offset: UInt32) -> UInt32
    /// Serves one request; returns `used.len`, the bytes written into the
    /// chain's device-writable buffers.
    func serve(_ chain: MappedChain, features: VirtioFeatures) throws(MalformedRequest) -> UInt32
}
