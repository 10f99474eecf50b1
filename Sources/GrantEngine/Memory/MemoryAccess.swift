/// Byte access to some memory through checks: a domain's own RAM, a
/// mapped page, a device buffer. Two primitives; the conveniences follow.
public protocol MemoryAccess {
    /// Where an access starts: a guest-physical address, or an offset.
    associatedtype Position

    /// Copies `buffer.count` bytes starting at `position` into `buffer`.
    func read(at position: Position, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault)
    /// Copies `buffer` to memory starting at `position`.
    func write(at position: Position, from buffer: UnsafeRawBufferPointer) throws(MemoryFault)
}

extension MemoryAccess {
    public func read(at position: Position, count: Int) throws(MemoryFault) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(count, 0))
        var failure: MemoryFault?
        bytes.withUnsafeMutableBytes { buffer in failure = capture { () throws(MemoryFault) in try read(at: position, into: buffer) } }
        if let failure { throw failure }
        return bytes
    }

    public func write(at position: Position, bytes: [UInt8]) throws(MemoryFault) {
        var failure: MemoryFault?
        bytes.withUnsafeBytes { buffer in failure = capture { () throws(MemoryFault) in try write(at: position, from: buffer) } }
        if let failure { throw failure }
    }

    /// Reads a little-endian integer (virtio structures are little-endian).
    public func load<T: FixedWidthInteger>(_ type: T.Type, at position: Position) throws(MemoryFault) -> T {
        var value = T.zero
        var failure: MemoryFault?
        withUnsafeMutableBytes(of: &value) { buffer in failure = capture { () throws(MemoryFault) in try read(at: position, into: buffer) } }
        if let failure { throw failure }
        return T(littleEndian: value)
    }

    /// Writes a little-endian integer.
    public func store<T: FixedWidthInteger>(_ value: T, at position: Position) throws(MemoryFault) {
        var little = value.littleEndian
        var failure: MemoryFault?
        withUnsafeBytes(of: &little) { buffer in failure = capture { () throws(MemoryFault) in try write(at: position, from: buffer) } }
        if let failure { throw failure }
    }
}

/// Runs `body` and returns its error instead of throwing it (for the
/// standard library's pointer helpers, which rethrow untyped errors).
func capture<E: Error>(_ body: () throws(E) -> Void) -> E? {
    do throws(E) {
        try body()
        return nil
    } catch {
        return error
    }
}

/// Splits `count` bytes starting `offset` bytes into page 0 of a run of
/// pages into per-page pieces: `body(page, offsetInPage, offsetInBuffer,
/// length)`.
func forEachPiece<E: Error>(
    offset: Int, count: Int, _ body: (_ page: Int, _ pageOffset: Int, _ bufferOffset: Int, _ length: Int) throws(E) -> Void
) throws(E) {
    var done = 0
    while done < count {
        let position = offset + done
        let page = position >> XenPage.shift
        let pageOffset = position & (XenPage.size - 1)
        let length = min(XenPage.size - pageOffset, count - done)
        try body(page, pageOffset, done, length)
        done += length
    }
}
