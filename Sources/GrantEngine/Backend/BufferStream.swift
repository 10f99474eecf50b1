/// Buffers of a request read or written as one byte stream, laid end to
/// end in array order (how a virtio device sees the readable or the
/// writable part of a chain, whatever way the driver split it).
///
/// Here rather than in the device models, so that `BufferMapping`'s
/// accesses inline into the loops: called across the module boundary,
/// each one copied its buffer out of the array first (a retain and a
/// release of its pages).
extension Array where Element == BufferMapping {
    /// Copies `buffer.count` bytes from `offset` of the stream formed by
    /// the buffers in `range`. The caller has checked that the stream
    /// holds them; each buffer still checks its own bounds and pages.
    public func read(_ range: Range<Int>, at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault) {
        guard let base = buffer.baseAddress else { return }
        var pieces = StreamPieces(offset: offset, count: buffer.count)
        try withUnsafeBufferPointer { (buffers) throws(MemoryFault) in
            for index in range {
                guard let (at, done, length) = pieces.next(buffers[index].length) else { continue }
                try buffers[index].read(at: at, into: UnsafeMutableRawBufferPointer(start: base + done, count: length))
            }
        }
    }

    /// Copies `buffer` to `offset` of the stream formed by the buffers in
    /// `range`, as `read` reads it.
    public func write(_ range: Range<Int>, at offset: Int, from buffer: UnsafeRawBufferPointer) throws(MemoryFault) {
        guard let base = buffer.baseAddress else { return }
        var pieces = StreamPieces(offset: offset, count: buffer.count)
        try withUnsafeBufferPointer { (buffers) throws(MemoryFault) in
            for index in range {
                guard let (at, done, length) = pieces.next(buffers[index].length) else { continue }
                try buffers[index].write(at: at, from: UnsafeRawBufferPointer(start: base + done, count: length))
            }
        }
    }
}

/// Splits `[offset, offset + count)` of a stream over its buffers, given
/// one after the other.
private struct StreamPieces {
    private let offset: Int
    private let count: Int
    private var start = 0
    private var done = 0

    init(offset: Int, count: Int) {
        self.offset = offset
        self.count = count
    }

    /// The part of the next buffer, `length` bytes long, that the range
    /// covers: where it starts in the buffer, how far into the range, and
    /// how long; nil when the range misses the buffer.
    mutating func next(_ length: Int) -> (at: Int, done: Int, length: Int)? {
        let end = start + length
        defer { start = end }
        let position = offset + done
        guard done < count, position < end else { return nil }
        let part = min(end - position, count - done)
        defer { done += part }
        return (position - start, done, part)
    }
}
