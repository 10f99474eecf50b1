/// Which way a streaming buffer's data goes (`enum dma_data_direction`,
/// without `DMA_NONE`, which is always a driver bug).
public enum DMADirection: String, Hashable, Sendable {
    case toDevice = "to-device"
    case fromDevice = "from-device"
    case bidirectional

    /// What the device may do with the buffer: only read a to-device
    /// buffer, write the others.
    public var deviceAccess: Access { self == .toDevice ? .readOnly : .writable }
    /// Whether the device's writes must reach the CPU's buffer on unmap.
    var copiesBack: Bool { self != .toDevice }
}

/// The DMA ops a device is given.
public enum DMAKind: String, Hashable, Sendable {
    /// Linux's grant DMA ops: a fresh grant per buffer.
    case grant
    /// Our extension: a fixed pool of pages granted (and mapped) once;
    /// buffers are copied through it.
    case grantPool = "grant-pool"
    /// dma-direct bouncing through a restricted DMA pool.
    case bounce
    /// dma-direct: the device sees guest-physical addresses.
    case direct
}

/// A coherent allocation: memory the CPU and the device share for as long
/// as it lives (virtqueue rings).
public struct CoherentBuffer: Hashable, Sendable {
    /// Where the CPU (the guest) reaches it.
    public let guestAddress: GuestAddress
    /// Where the device reaches it.
    public let dmaAddress: DMAAddress
    public let size: Int
}

/// Why a DMA operation failed.
public enum DMAError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An earlier end of access failed: the device is disabled for good.
    case deviceBroken
    /// The backend still maps this ref, so its access could not end: the
    /// device is now broken and the refs and pages of the buffer are leaked
    /// (the backend may still reach those pages; never reuse them).
    case grantStillInUse(GrantRef)
    case outOfGrants(GrantAllocationError)
    case outOfMemory(PageAllocationError)
    /// The pool has no free run of `slots` slots.
    case poolExhausted(slots: Int)
    /// More than one mapping may hold (256 KiB in a restricted pool).
    case mappingTooLarge(length: Int, limit: Int)
    case emptyBuffer
    /// The buffer is not guest RAM.
    case notRAM(GuestAddress)
    /// Not an address this device mapped or allocated.
    case notMapped(DMAAddress)
    /// The device's DMA pool was released.
    case poolReleased

    public var description: String {
        switch self {
        case .deviceBroken:
            "device disabled: a grant stayed in use by the backend earlier"
        case .grantStillInUse(let ref):
            "grant still in use by backend domain (\(ref)); device disabled for further use, its grants and pages leaked"
        case .outOfGrants(let error): error.description
        case .outOfMemory(let error): error.description
        case .poolExhausted(let slots): "DMA pool has no \(slots) free contiguous slots"
        case .mappingTooLarge(let length, let limit): "mapping of \(length) bytes exceeds the \(limit)-byte limit"
        case .emptyBuffer: "cannot map an empty buffer"
        case .notRAM(let address): "buffer at \(address) is not guest RAM"
        case .notMapped(let address): "\(address) is not mapped by this device"
        case .poolReleased: "the device's DMA pool was released"
        }
    }
}

/// The DMA ops of one device, as the frontend driver uses them. Every
/// implementation is bound to one device and is safe to call from several
/// threads.
public protocol DMAOps: AnyObject, Sendable {
    var kind: DMAKind { get }
    /// Allocates coherent memory of `size` bytes, shared with the device.
    func allocateCoherent(size: Int) throws(DMAError) -> CoherentBuffer
    func freeCoherent(_ buffer: CoherentBuffer) throws(DMAError)
    /// Makes `length` bytes of guest memory at `buffer` reachable by the
    /// device for one transfer; returns the device's address of them.
    func map(_ buffer: GuestAddress, length: Int, direction: DMADirection) throws(DMAError) -> DMAAddress
    /// Ends the transfer `map` started (same length and direction).
    func unmap(_ address: DMAAddress, length: Int, direction: DMADirection) throws(DMAError)
    /// Whether the device was disabled after a grant stayed in use.
    var isBroken: Bool { get }
    var statistics: DMAStatistics { get }
}

/// What a device's DMA ops did.
public struct DMAStatistics: Hashable, Sendable {
    public var maps = 0
    public var unmaps = 0
    public var coherentAllocations = 0
    public var coherentFrees = 0
    /// Grant entries written.
    public var grantsIssued = 0
    /// Grant refs ended and returned to the allocator.
    public var grantsReleased = 0
    /// Refs kept for good after an end of access failed.
    public var grantsLeaked = 0
    /// Guest pages kept for good for the same reason.
    public var pagesLeaked = 0
    /// Bytes copied into and out of a pool.
    public var bytesCopied = 0

    /// Grants given out and not returned (including leaked ones): what a
    /// device still exposes.
    public var grantsOutstanding: Int { grantsIssued - grantsReleased }
}

/// The counters behind `DMAStatistics`.
enum DMACounter: Int, CaseIterable {
    case maps, unmaps, coherentAllocations, coherentFrees, grantsIssued, grantsReleased, grantsLeaked, pagesLeaked,
        bytesCopied
}

typealias DMACounters = CounterSet<DMACounter>

extension CounterSet<DMACounter> {
    var snapshot: DMAStatistics {
        DMAStatistics(
            maps: self[.maps], unmaps: self[.unmaps], coherentAllocations: self[.coherentAllocations],
            coherentFrees: self[.coherentFrees], grantsIssued: self[.grantsIssued],
            grantsReleased: self[.grantsReleased], grantsLeaked: self[.grantsLeaked],
            pagesLeaked: self[.pagesLeaked], bytesCopied: self[.bytesCopied])
    }
}

extension GuestMemory {
    /// Checks that `length` bytes from `address` are RAM (the buffer a
    /// driver hands to its DMA ops).
    func requireRAM(_ address: GuestAddress, length: Int) throws(DMAError) {
        guard length > 0 else { throw .emptyBuffer }
        if let hole = firstNonRAM(address, count: length) { throw .notRAM(hole) }
    }
}
