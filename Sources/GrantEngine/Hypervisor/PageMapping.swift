/// One page of another domain's memory, mapped into the caller: a grant
/// mapping (by handle) or a foreign mapping (privileged domains only).
///
/// It is the only way a domain touches memory it does not own. Every access
/// checks, under the frame's lock, that the mapping is still live and that
/// writes are allowed; a refused access is logged as a fault.
public struct PageMapping: MemoryAccess, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A grant mapping of `ref`, undone with `unmapGrantRef(handle)`.
        case grant(handle: MapHandle, ref: GrantRef)
        /// A foreign mapping of a frame, undone with `foreignUnmap`.
        case foreign(FrameNumber)
    }

    public let kind: Kind
    /// The mapping domain.
    public let mapper: DomainID
    /// The domain whose page this is.
    public let owner: DomainID
    public let access: Access
    let frame: Frame
    let slot: MapSlot
    let token: UInt64

    /// The machine address of the page (Xen's `dev_bus_addr`).
    public var deviceBusAddress: UInt64 { frame.machineAddress }

    /// The maptrack handle of a grant mapping.
    public var handle: MapHandle? {
        if case .grant(let handle, _) = kind { return handle }
        return nil
    }

    /// Whether the mapping has not been unmapped yet.
    public var isMapped: Bool { slot.isLive(token) }

    /// Reads bytes of the page; `offset` counts from the page start.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault) {
        try perform(.read, offset: offset, count: buffer.count) { page in
            buffer.baseAddress?.copyMemory(from: page + offset, byteCount: buffer.count)
        }
    }

    /// Writes bytes of the page; refused on a read-only mapping.
    public func write(at offset: Int, from buffer: UnsafeRawBufferPointer) throws(MemoryFault) {
        try perform(.write, offset: offset, count: buffer.count) { page in
            if let source = buffer.baseAddress { (page + offset).copyMemory(from: source, byteCount: buffer.count) }
        }
    }

    private func perform(
        _ operation: GrantEvent.Operation, offset: Int, count: Int, _ body: (UnsafeMutableRawPointer) -> Void
    ) throws(MemoryFault) {
        do throws(MemoryFault) {
            try checkBounds(offset: offset, count: count, limit: XenPage.size)
            // The closure captures no part of `self`: capturing it copied
            // the mapping (two retains and releases) on every access.
            let allowed = operation == .read || access == .writable
            let live = try frame.withBytes(ifLive: slot, token: token) { (page: UnsafeMutableRawPointer) throws(MemoryFault) in
                guard allowed else { throw .readOnly }
                body(page)
            }
            guard live else { throw .notMapped }
        } catch {
            slot.log.record(error, operation, caller: mapper, target: owner, location: location)
            throw error
        }
    }

    var location: GrantEvent.Location {
        switch kind {
        case .grant(_, let ref): .ref(ref)
        case .foreign(let frame): .frame(frame)
        }
    }
}
