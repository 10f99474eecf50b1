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

// Inlinable so that other modules (the virtio rings, the device models)
// get them specialized: across the module boundary every ring load and
// store otherwise went through generic witness tables.
extension MemoryAccess {
    @inlinable
    public func read(at position: Position, count: Int) throws(MemoryFault) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(count, 0))
        var failure: MemoryFault?
        bytes.withUnsafeMutableBytes { buffer in failure = capture { () throws(MemoryFault) in try read(at: position, into: buffer) } }
        if let failure { throw failure }
        return bytes
    }

    @inlinable
    public func write(at position: Position, bytes: [UInt8]) throws(MemoryFault) {
        var failure: MemoryFault?
        bytes.withUnsafeBytes { buffer in failure = capture { () throws(MemoryFault) in try write(at: position, from: buffer) } }
        if let failure { throw failure }
    }

    /// Reads a little-endian integer (virtio structures are little-endian).
    @inlinable
    public func load<T: FixedWidthInteger>(_ type: T.Type, at position: Position) throws(MemoryFault) -> T {
        var value = T.zero
        var failure: MemoryFault?
        withUnsafeMutableBytes(of: &value) { buffer in failure = capture { () throws(MemoryFault) in try read(at: position, into: buffer) } }
        if let failure { throw failure }
        return T(littleEndian: value)
    }

    /// Writes a little-endian integer.
    @inlinable
    public func store<T: FixedWidthInteger>(_ value: T, at position: Position) throws(MemoryFault) {
        var little = value.littleEndian
        var failure: MemoryFault?
        withUnsafeBytes(of: &little) { buffer in failure = capture { () throws(MemoryFault) in try write(at: position, from: buffer) } }
        if let failure { throw failure }
    }
}

/// Runs `body` and returns its error instead of throwing it (for the
/// standard library's pointer helpers, which rethrow untyped errors).
@usableFromInline
func capture<E: Error>(_ body: () throws(E) -> Void) -> E? {
    do throws(E) {
        try body()
        return nil
    } catch {
        return error
    }
}

/// The per-page pieces of `count` bytes that start `offset` bytes into
/// page 0 of a run of pages. A sequence rather than a closure walk, so hot
/// loops index their pages directly (a closure that captures a value type
/// copies it, page mappings and all).
struct PagePieces: Sequence, IteratorProtocol {
    struct Piece {
        /// The page's index in the run.
        let page: Int
        let pageOffset: Int
        /// Where the piece starts in the caller's buffer.
        let bufferOffset: Int
        let length: Int
    }

    private let offset: Int
    private let count: Int
    private var done = 0

    init(offset: Int, count: Int) {
        self.offset = offset
        self.count = count
    }

    mutating func next() -> Piece? {
        guard done < count else { return nil }
        let position = offset + done
        let pageOffset = position & (XenPage.size - 1)
        let length = Swift.min(XenPage.size - pageOffset, count - done)
        defer { done += length }
        return Piece(page: position >> XenPage.shift, pageOffset: pageOffset, bufferOffset: done, length: length)
    }
}

/// Calls `body(page, offsetInPage, offsetInBuffer, length)` for each of
/// `PagePieces(offset:count:)`.
func forEachPiece<E: Error>(
    offset: Int, count: Int, _ body: (_ page: Int, _ pageOffset: Int, _ bufferOffset: Int, _ length: Int) throws(E) -> Void
) throws(E) {
    for piece in PagePieces(offset: offset, count: count) {
        try body(piece.page, piece.pageOffset, piece.bufferOffset, piece.length)
    }
}
