/// The virtio-mmio version 2 register map (virtio.md §3.1): offsets from
/// the device base, 32-bit little-endian registers, config from 0x100.
enum MMIORegister: UInt32, CaseIterable, Sendable {
    case magicValue = 0x000
    case version = 0x004
    case deviceID = 0x008
    case vendorID = 0x00c
    case deviceFeatures = 0x010
    case deviceFeaturesSel = 0x014
    case driverFeatures = 0x020
    case driverFeaturesSel = 0x024
    case queueSel = 0x030
    case queueNumMax = 0x034
    case queueNum = 0x038
    case queueReady = 0x044
    case queueNotify = 0x050
    case interruptStatus = 0x060
    case interruptACK = 0x064
    case status = 0x070
    case queueDescLow = 0x080
    case queueDescHigh = 0x084
    case queueDriverLow = 0x090
    case queueDriverHigh = 0x094
    case queueDeviceLow = 0x0a0
    case queueDeviceHigh = 0x0a4
    case shmSel = 0x0ac
    case shmLenLow = 0x0b0
    case shmLenHigh = 0x0b4
    case shmBaseLow = 0x0b8
    case shmBaseHigh = 0x0bc
    case queueReset = 0x0c0
    case configGeneration = 0x0fc

    /// "virt" read as a little-endian word.
    static let magic: UInt32 = 0x7472_6976
    /// The only version grant DMA works with (legacy is 1).
    static let modernVersion: UInt32 = 2
    /// Device-specific configuration starts here.
    static let configOffset: UInt32 = 0x100
    /// libxl reserves this much per device (registers and config).
    static let windowSize: UInt32 = 0x200
    /// Our vendor id ("GDT" + 0), reported by every grantdt device.
    static let vendor: UInt32 = 0x0054_4447
}

/// InterruptStatus / InterruptACK bits.
struct InterruptCause: OptionSet, Hashable, Sendable {
    let rawValue: UInt32
    init(rawValue: UInt32) { self.rawValue = rawValue }

    static let usedBuffer = InterruptCause(rawValue: 1)
    static let configChange = InterruptCause(rawValue: 2)
}

/// The register window of one virtio-mmio device, as the guest reaches it:
/// every access traps to the device model in the backend (on Xen, an ioreq
/// the backend's emulator serves while the vCPU waits), so a write returns
/// only once the device has acted on it.
protocol MMIOWindow: AnyObject, Sendable {
    /// A 32-bit register or config-space read at `offset`.
    func read(_ offset: UInt32) -> UInt32
    /// A 32-bit register or config-space write at `offset`.
    func write(_ offset: UInt32, _ value: UInt32)
}

extension MMIOWindow {
    func read(_ register: MMIORegister) -> UInt32 { read(register.rawValue) }
    func write(_ register: MMIORegister, _ value: UInt32) { write(register.rawValue, value) }
}
