/// A device buffer as a backend reaches it: `length` bytes at a device
/// address, over the pages mapped for it. Accesses are bounded by the
/// buffer and, for device-readable buffers, read-only; each page mapping
/// enforces its own liveness and Xen's read-only flag on top.
///
/// `pages` exposes the whole mapped pages: grants are page-granular, so a
/// backend can always reach the rest of a granted page (and nothing else).
public struct BufferMapping: MemoryAccess, Sendable {
    /// The device address the buffer was mapped from.
    public let address: DMAAddress
    public let length: Int
    /// What the backend may do with it: read-only for device-readable
    /// buffers.
    public let access: Access
    /// The mapped pages; the buffer starts `address.pageOffset` bytes into
    /// the first.
    public let pages: ArraySlice<PageMapping>
    /// Whether the pages were mapped for this buffer alone (and are unmapped
    /// with it), rather than borrowed from a long-lived or cached mapping.
    public let ownsPages: Bool

    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault) {
        try pieces(.read, offset: offset, count: buffer.count) { (page, pageOffset, bufferOffset, length) throws(MemoryFault) in
            try page.read(at: pageOffset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[bufferOffset..<(bufferOffset + length)]))
        }
    }

    public func write(at offset: Int, from buffer: UnsafeRawBufferPointer) throws(MemoryFault) {
        try pieces(.write, offset: offset, count: buffer.count) { (page, pageOffset, bufferOffset, length) throws(MemoryFault) in
            try page.write(at: pageOffset, from: UnsafeRawBufferPointer(rebasing: buffer[bufferOffset..<(bufferOffset + length)]))
        }
    }

    /// Checks the buffer's own bounds and access, then walks the pages.
    private func pieces(
        _ operation: GrantEvent.Operation, offset: Int, count: Int,
        _ body: (PageMapping, _ pageOffset: Int, _ bufferOffset: Int, _ length: Int) throws(MemoryFault) -> Void
    ) throws(MemoryFault) {
        do throws(MemoryFault) {
            try checkBounds(offset: offset, count: count, limit: length)
            guard operation == .read || access == .writable else { throw .readOnly }
        } catch {
            if let first = pages.first {
                first.slot.log.record(error, operation, caller: first.mapper, target: first.owner,
                                      location: .address(address.advanced(by: max(offset, 0))))
            }
            throw error
        }
        try forEachPiece(offset: address.pageOffset + offset, count: count) { (page, pageOffset, bufferOffset, length) throws(MemoryFault) in
            try body(pages[pages.startIndex + page], pageOffset, bufferOffset, length)
        }
    }
}
