/// The device status bits (virtio.md §1.1). Writing 0 resets the device.
struct DeviceStatus: OptionSet, Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt32
    init(rawValue: UInt32) { self.rawValue = rawValue }

    static let acknowledge = DeviceStatus(rawValue: 1)
    static let driver = DeviceStatus(rawValue: 2)
    static let driverOK = DeviceStatus(rawValue: 4)
    static let featuresOK = DeviceStatus(rawValue: 8)
    static let needsReset = DeviceStatus(rawValue: 64)
    static let failed = DeviceStatus(rawValue: 128)

    var description: String {
        let names: [(DeviceStatus, String)] = [
            (.acknowledge, "ACKNOWLEDGE"), (.driver, "DRIVER"), (.featuresOK, "FEATURES_OK"),
            (.driverOK, "DRIVER_OK"), (.needsReset, "DEVICE_NEEDS_RESET"), (.failed, "FAILED"),
        ]
        let set = names.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "0" : set.joined(separator: "|")
    }
}

/// Feature bits (virtio.md §2 and §5.2): the device-independent ones
/// grantdt negotiates and virtio-blk's.
struct VirtioFeatures: OptionSet, Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt64
    init(rawValue: UInt64) { self.rawValue = rawValue }
    init(bit: Int) { rawValue = 1 << UInt64(bit) }

    // virtio-blk (bits 0–23)
    static let blockSizeMax = VirtioFeatures(bit: 1)
    static let blockSegmentMax = VirtioFeatures(bit: 2)
    static let blockReadOnly = VirtioFeatures(bit: 5)
    static let blockSize = VirtioFeatures(bit: 6)
    static let blockFlush = VirtioFeatures(bit: 9)
    // device-independent
    static let indirectDescriptors = VirtioFeatures(bit: 28)
    static let eventIndex = VirtioFeatures(bit: 29)
    static let version1 = VirtioFeatures(bit: 32)
    static let accessPlatform = VirtioFeatures(bit: 33)
    static let packedRing = VirtioFeatures(bit: 34)

    /// What a device must offer and a driver accept for grant DMA
    /// (grant-dma.md §2.3).
    static let grantRequired: VirtioFeatures = [.version1, .accessPlatform]

    var description: String {
        let names: [(VirtioFeatures, String)] = [
            (.blockSizeMax, "SIZE_MAX"), (.blockSegmentMax, "SEG_MAX"), (.blockReadOnly, "RO"),
            (.blockSize, "BLK_SIZE"), (.blockFlush, "FLUSH"), (.indirectDescriptors, "RING_INDIRECT_DESC"),
            (.eventIndex, "RING_EVENT_IDX"), (.version1, "VERSION_1"), (.accessPlatform, "ACCESS_PLATFORM"),
            (.packedRing, "RING_PACKED"),
        ]
        var rest = rawValue
        var parts: [String] = []
        for (feature, name) in names where contains(feature) {
            parts.append(name)
            rest &= ~feature.rawValue
        }
        if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
        return parts.isEmpty ? "none" : parts.joined(separator: "|")
    }
}

/// The virtio device types grantdt serves.
enum VirtioDeviceID: UInt32, Hashable, Sendable {
    /// Device id 2.
    case block = 2
    /// A vendor-specific test device that echoes buffers (grantdt's
    /// loopback; not a registered virtio type).
    case loopback = 0xffff_0001
}
