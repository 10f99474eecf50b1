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

    // Inlined into the stream loops of `BufferStream.swift`, which then
    // work on the array element in place instead of copying it (a retain
    // and a release of its pages) for every call.
    @inline(__always)
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault) {
        try check(.read, offset: offset, count: buffer.count)
        // Through each page's unretained view (no reference counting); a
        // refused access is repeated through the page mapping, which
        // throws and logs the fault.
        if let (index, pageOffset) = onePage(offset: offset, count: buffer.count) {
            if !pages[index].unretained.read(at: pageOffset, into: buffer) { try pages[index].read(at: pageOffset, into: buffer) }
            return
        }
        // A plain loop, not a closure walk: a closure capturing `self`
        // copied the buffer and its page mappings for every piece. The
        // pieces lie inside `buffer` by construction: plain pointer
        // arithmetic, not a bounds-checked slice per piece.
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let (first, pageOffset, pageCount, length) = run(at: address.pageOffset + offset + done, count: buffer.count - done)
            let part = UnsafeMutableRawBufferPointer(start: base + done, count: length)
            if !UnretainedPage.read(pages, first..<(first + pageCount), at: pageOffset, into: part) {
                for piece in PagePieces(offset: pageOffset, count: length) {
                    try pages[first + piece.page].read(
                        at: piece.pageOffset, into: UnsafeMutableRawBufferPointer(start: base + done + piece.bufferOffset, count: piece.length))
                }
            }
            done += length
        }
    }

    @inline(__always)
    public func write(at offset: Int, from buffer: UnsafeRawBufferPointer) throws(MemoryFault) {
        try check(.write, offset: offset, count: buffer.count)
        if let (index, pageOffset) = onePage(offset: offset, count: buffer.count) {
            if !pages[index].unretained.write(at: pageOffset, from: buffer) { try pages[index].write(at: pageOffset, from: buffer) }
            return
        }
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let (first, pageOffset, pageCount, length) = run(at: address.pageOffset + offset + done, count: buffer.count - done)
            let part = UnsafeRawBufferPointer(start: base + done, count: length)
            if !UnretainedPage.write(pages, first..<(first + pageCount), at: pageOffset, from: part) {
                for piece in PagePieces(offset: pageOffset, count: length) {
                    try pages[first + piece.page].write(
                        at: piece.pageOffset, from: UnsafeRawBufferPointer(start: base + done + piece.bufferOffset, count: piece.length))
                }
            }
            done += length
        }
    }

    /// The run of pages an access of `count` bytes from `position` (counted
    /// from the start of the first page) starts with: its first page's
    /// index, the offset in that page, how many pages follow one another
    /// in host memory from there (one copy reaches across them), and how
    /// many of the bytes lie in them. A refused run is repeated page by
    /// page, so what is copied and logged is what a copy per page does.
    @inline(__always)
    private func run(at position: Int, count: Int) -> (first: Int, pageOffset: Int, pageCount: Int, length: Int) {
        let first = pages.startIndex + position >> XenPage.shift
        let pageOffset = position & (XenPage.size - 1)
        let needed = (pageOffset + count + XenPage.size - 1) >> XenPage.shift
        var pageCount = 1
        while pageCount < needed, pages[first + pageCount].unretained.follows(pages[first + pageCount - 1].unretained) {
            pageCount += 1
        }
        return (first, pageOffset, pageCount, min(pageCount * XenPage.size - pageOffset, count))
    }

    /// The page index and the offset in it of a non-empty access that
    /// stays inside one page (every ring access, most headers): it needs
    /// no walk over pieces.
    private func onePage(offset: Int, count: Int) -> (index: Int, pageOffset: Int)? {
        let position = address.pageOffset + offset
        let pageOffset = position & (XenPage.size - 1)
        guard count > 0, pageOffset + count <= XenPage.size else { return nil }
        return (pages.startIndex + position >> XenPage.shift, pageOffset)
    }

    /// The buffer's own bounds and access; each page checks its mapping.
    /// Passing is one test, inlined into every access (a call cost more
    /// than the test); a refusal is worked out and logged out of line.
    @inline(__always)
    private func check(_ operation: GrantEvent.Operation, offset: Int, count: Int) throws(MemoryFault) {
        guard offset >= 0, count >= 0, offset <= length, count <= length - offset, operation == .read || access == .writable else {
            throw refusal(operation, offset: offset, count: count)
        }
    }

    /// The fault of an access `check` refuses, logged.
    @inline(never)
    private func refusal(_ operation: GrantEvent.Operation, offset: Int, count: Int) -> MemoryFault {
        let fault: MemoryFault
        do throws(MemoryFault) {
            try checkBounds(offset: offset, count: count, limit: length)
            fault = .readOnly
        } catch {
            fault = error
        }
        if let first = pages.first {
            first.slot.log.record(fault, operation, caller: first.mapper, target: first.owner,
                                  location: .address(address.advanced(by: max(offset, 0))))
        }
        return fault
    }
}
