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

    /// A buffer of a request whose pages are still being mapped: its place
    /// in the request's list until the map hypercall fills it.
    static func placeholder(_ address: DMAAddress, length: Int, access: Access) -> BufferMapping {
        BufferMapping(address: address, length: length, access: access, pages: [], ownsPages: false)
    }

    /// Whether this is a placeholder: a mapped buffer has at least a page.
    var isPlaceholder: Bool { pages.isEmpty }

    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault) {
        try check(.read, offset: offset, count: buffer.count)
        // A plain loop, not a closure walk: a closure capturing `self`
        // copied the buffer and its page mappings for every 4 KiB piece.
        // Through each page's unretained view (no reference counting); a
        // refused access is repeated through the page mapping, which
        // throws and logs the fault.
        for piece in PagePieces(offset: address.pageOffset + offset, count: buffer.count) {
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[piece.bufferOffset..<(piece.bufferOffset + piece.length)])
            let index = pages.startIndex + piece.page
            if !pages[index].unretained.read(at: piece.pageOffset, into: part) {
                try pages[index].read(at: piece.pageOffset, into: part)
            }
        }
    }

    public func write(at offset: Int, from buffer: UnsafeRawBufferPointer) throws(MemoryFault) {
        try check(.write, offset: offset, count: buffer.count)
        for piece in PagePieces(offset: address.pageOffset + offset, count: buffer.count) {
            let part = UnsafeRawBufferPointer(rebasing: buffer[piece.bufferOffset..<(piece.bufferOffset + piece.length)])
            let index = pages.startIndex + piece.page
            if !pages[index].unretained.write(at: piece.pageOffset, from: part) {
                try pages[index].write(at: piece.pageOffset, from: part)
            }
        }
    }

    /// The buffer's own bounds and access; each page checks its mapping.
    private func check(_ operation: GrantEvent.Operation, offset: Int, count: Int) throws(MemoryFault) {
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
    }
}
