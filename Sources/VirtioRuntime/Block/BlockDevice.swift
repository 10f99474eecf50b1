import GrantEngine

/// The virtio-blk device as a backend serves it (virtio.md §5.7): IN, OUT,
/// FLUSH and GET_ID over a `DiskImage`, the status byte written last,
/// `used.len` = the bytes written into device-writable buffers. Requests
/// beyond the capacity, data that is not whole sectors, and writes to a
/// read-only image get IOERR and touch nothing; unknown or unnegotiated
/// types get UNSUPP.
final class BlockDevice: DeviceLogic {
    /// The largest data segment the device accepts (`size_max`).
    static let sizeMax: UInt32 = 1 << 20

    let image: DiskImage
    let readOnly: Bool
    /// The GET_ID answer (at most 20 bytes).
    let identifier: [UInt8]
    let segmentMax: UInt32
    /// Storage failures, in order, for the run's report.
    private let failures = Monitor<[DiskError]>([])

    init(image: DiskImage, identifier: String, queueSize: Int, readOnly: Bool = false) {
        self.image = image
        self.readOnly = readOnly
        self.identifier = Array(identifier.utf8.prefix(BlockProtocol.idBytes))
        segmentMax = UInt32(max(queueSize - 2, 1))
    }

    var deviceID: VirtioDeviceID { .block }

    var deviceFeatures: VirtioFeatures {
        var features: VirtioFeatures = [.blockSizeMax, .blockSegmentMax, .blockSize, .blockFlush]
        if readOnly { features.insert(.blockReadOnly) }
        return features
    }

    /// Storage failures so far.
    var storageFailures: [DiskError] { failures.withLock { $0 } }

    /// The latest storage failure of a transfer of `count` bytes at byte
    /// `offset` (a flush: 0 and 0).
    func failure(at offset: UInt64, count: Int) -> DiskError? {
        failures.withLock { failures in
            failures.last { error in
                guard case .io(_, _, let at, let length, _, _) = error else { return false }
                return at == offset && length == count
            }
        }
    }

    func readConfig(_ offset: UInt32) -> UInt32 {
        switch offset {
        case BlockProtocol.capacityOffset: UInt32(truncatingIfNeeded: image.sectors)
        case BlockProtocol.capacityOffset + 4: UInt32(truncatingIfNeeded: image.sectors >> 32)
        case BlockProtocol.sizeMaxOffset: Self.sizeMax
        case BlockProtocol.segMaxOffset: segmentMax
        case BlockProtocol.blockSizeOffset: UInt32(BlockProtocol.sectorSize)
        default: 0
        }
    }

    func serve(_ chain: MappedChain, features: VirtioFeatures) throws(MalformedRequest) -> UInt32 {
        let writable = chain.writableLength
        guard writable >= 1 else { throw MalformedRequest(reason: "virtio-blk request without a device-writable status byte") }
        let statusOffset = writable - 1
        guard chain.readableLength >= BlockProtocol.headerSize else {
            try finish(chain, .ioError, at: statusOffset)
            return 1
        }
        let (type, sector) = try header(chain)
        let (status, written) = try perform(type, sector: sector, chain, dataIn: statusOffset, features: features)
        try finish(chain, status, at: statusOffset)
        return UInt32(written + 1)
    }

    // MARK: Requests

    /// Runs one request; returns its status and the data bytes written
    /// into the chain (before the status byte).
    private func perform(_ rawType: UInt32, sector: UInt64, _ chain: MappedChain, dataIn: Int, features: VirtioFeatures)
        throws(MalformedRequest) -> (BlockProtocol.Status, Int)
    {
        let dataOut = chain.readableLength - BlockProtocol.headerSize
        switch BlockProtocol.RequestType(rawValue: rawType) {
        case .read:
            guard let offset = extent(sector, dataIn) else { return (.ioError, 0) }
            return try read(chain, offset: offset, count: dataIn)
        case .write:
            guard !readOnly, let offset = extent(sector, dataOut) else { return (.ioError, 0) }
            return (try write(chain, offset: offset, count: dataOut), 0)
        case .flush:
            guard features.contains(.blockFlush) else { return (.unsupported, 0) }
            do throws(DiskError) {
                try image.flush()
                return (.ok, 0)
            } catch {
                record(error)
                return (.ioError, 0)
            }
        case .getID:
            let count = min(dataIn, BlockProtocol.idBytes)
            var answer = identifier + [UInt8](repeating: 0, count: BlockProtocol.idBytes - identifier.count)
            answer.removeLast(BlockProtocol.idBytes - count)
            try fault { () throws(MemoryFault) in try chain.write(at: 0, bytes: answer) }
            return (.ok, count)
        case nil:
            return (.unsupported, 0)
        }
    }

    /// The byte offset of a data transfer, or nil when it is not whole
    /// sectors or reaches beyond the capacity.
    private func extent(_ sector: UInt64, _ count: Int) -> UInt64? {
        guard count > 0, count % BlockProtocol.sectorSize == 0 else { return nil }
        let sectors = UInt64(count / BlockProtocol.sectorSize)
        guard sector <= image.sectors, sectors <= image.sectors - sector else { return nil }
        return sector * UInt64(BlockProtocol.sectorSize)
    }

    private func read(_ chain: MappedChain, offset: UInt64, count: Int) throws(MalformedRequest) -> (BlockProtocol.Status, Int) {
        var fault: MemoryFault?
        do throws(DiskError) {
            try image.withBytes(at: offset, count: count) { bytes in
                do throws(MemoryFault) { try chain.write(at: 0, from: bytes) } catch { fault = error }
            }
        } catch {
            record(error)
            return (.ioError, 0)
        }
        if let fault { throw MalformedRequest(reason: "writing read data into the driver's buffer: \(fault)") }
        return (.ok, count)
    }

    private func write(_ chain: MappedChain, offset: UInt64, count: Int) throws(MalformedRequest) -> BlockProtocol.Status {
        var fault: MemoryFault?
        do throws(DiskError) {
            _ = try image.write(at: offset, count: count) { buffer in
                do throws(MemoryFault) {
                    try chain.read(at: BlockProtocol.headerSize, into: buffer)
                    return true
                } catch {
                    fault = error
                    return false
                }
            }
        } catch {
            record(error)
            return .ioError
        }
        if let fault { throw MalformedRequest(reason: "reading write data from the driver's buffer: \(fault)") }
        return .ok
    }

    // MARK: Helpers

    private func header(_ chain: MappedChain) throws(MalformedRequest) -> (type: UInt32, sector: UInt64) {
        var failure: MemoryFault?
        // On the stack: an array per request showed in the profile.
        let header = withUnsafeTemporaryAllocation(byteCount: BlockProtocol.headerSize, alignment: 8) { buffer in
            do throws(MemoryFault) { try chain.read(at: 0, into: buffer) } catch { failure = error }
            return (UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                    UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        if let failure { throw MalformedRequest(reason: "reading the request header: \(failure)") }
        return header
    }

    /// Writes the status byte, last.
    private func finish(_ chain: MappedChain, _ status: BlockProtocol.Status, at offset: Int) throws(MalformedRequest) {
        try fault { () throws(MemoryFault) in
            var failure: MemoryFault?
            withUnsafeBytes(of: status.rawValue) { buffer in
                do throws(MemoryFault) { try chain.write(at: offset, from: buffer) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }

    private func record(_ error: DiskError) {
        failures.withLock { $0.append(error) }
    }

    private func fault(_ body: () throws(MemoryFault) -> Void) throws(MalformedRequest) {
        do throws(MemoryFault) { try body() } catch { throw MalformedRequest(reason: "buffer access faulted: \(error)") }
    }
}

extension MappedChain {
    func write(at offset: Int, bytes: [UInt8]) throws(MemoryFault) {
        var failure: MemoryFault?
        bytes.withUnsafeBytes { buffer in
            do throws(MemoryFault) { try write(at: offset, from: buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
