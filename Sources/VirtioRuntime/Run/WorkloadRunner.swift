import GrantEngine

/// What a workload did on one device.
struct WorkloadResult {
    var completed = 0
    /// Data bytes carried (read, written or echoed).
    var bytes = 0
    /// Requests whose status was not OK or whose data did not verify.
    var failures = 0
    /// The first problems, in words (at most `messageLimit`).
    var messages: [String] = []
    /// Requests whose device-readable data changed in guest memory while
    /// the device had it (checked with `checkSources`).
    var modifiedSources = 0

    static let messageLimit = 8

    mutating func fail(_ message: String) {
        failures += 1
        if messages.count < Self.messageLimit { messages.append(message) }
    }
}

/// Drives a workload through a device's frontend: up to `queueDepth`
/// requests in flight, requests that touch sectors of one still in flight
/// held back (the block layer gives overlapping requests no order), every
/// read checked against the model, every echo against what was sent.
/// Runs on the guest's thread.
final class WorkloadRunner {
    let session: DeviceSession
    let pattern: DataPattern
    private(set) var model: DiskModel
    private var scratch: [UInt8]

    init(session: DeviceSession, seed: UInt64, startsZeroed: Bool) {
        self.session = session
        pattern = DataPattern(seed: seed)
        model = DiskModel(startsZeroed: startsZeroed)
        scratch = [UInt8](repeating: 0, count: session.maxRequest)
    }

    /// Runs `items`; `resetAfter` resets the device (and brings it up
    /// again) once that many requests completed, requeueing what it lost.
    /// `progress` is told the completed count after each batch.
    /// `checkSources` also checks that the data sent to the device is
    /// still intact in guest memory afterwards.
    func run(_ items: [WorkItem], resetAfter: Int? = nil, checkSources: Bool = false, progress: (Int) -> Void = { _ in })
        throws(RequestError) -> WorkloadResult
    {
        var result = WorkloadResult()
        var pending = items[...]
        var requeued: [WorkItem] = []
        var inFlight: [Int: WorkItem] = [:]
        var freeSlots = Array((0..<session.slots.slots.count).reversed())
        var resetDone = resetAfter == nil
        while true {
            guard let requests = session.requests else { throw .driver(.deviceNeedsReset("the device is not up")) }
            // Submit while there is room, in order.
            while !freeSlots.isEmpty, let item = requeued.first ?? pending.first {
                if inFlight.values.contains(where: { $0.overlaps(item) }) { break }
                let slot = freeSlots[freeSlots.count - 1]
                guard try requests.submit(prepare(item, in: session.slots.slots[slot]), token: slot) else { break }
                freeSlots.removeLast()
                inFlight[slot] = item
                if requeued.isEmpty { pending.removeFirst() } else { requeued.removeFirst() }
            }
            if inFlight.isEmpty {
                guard pending.isEmpty && requeued.isEmpty else {
                    throw .stalled("\((requeued.first ?? pending.first)?.summary ?? "a request") cannot be queued even alone")
                }
                return result
            }
            try requests.kick()
            for completion in try requests.waitForCompletions() {
                guard let item = inFlight.removeValue(forKey: completion.token) else { continue }
                let slot = session.slots.slots[completion.token]
                check(item, in: slot, written: completion.writtenLength, into: &result)
                if checkSources && !sourceIntact(item, in: slot) { result.modifiedSources += 1 }
                freeSlots.append(completion.token)
            }
            progress(result.completed)
            if !resetDone, let resetAfter, result.completed >= resetAfter {
                resetDone = true
                let lost = session.takeDown().compactMap { inFlight.removeValue(forKey: $0) }
                freeSlots = Array((0..<session.slots.slots.count).reversed())
                requeued = lost.sorted { $0.index < $1.index } + requeued
                do throws(DriverError) { try session.bringUp() } catch { throw .driver(error) }
            }
        }
    }

    /// Reads back everything the model says the run wrote.
    func readBackItems(startingAt index: Int) -> [WorkItem] {
        let chunk = UInt64(session.maxRequest / BlockProtocol.sectorSize)
        var items: [WorkItem] = []
        for extent in model.writtenExtents {
            var sector = extent.sector
            while sector < extent.sector + extent.count {
                let count = min(chunk, extent.sector + extent.count - sector)
                items.append(WorkItem(index: index + items.count, operation: .read, sector: sector,
                                      length: Int(count) * BlockProtocol.sectorSize, pageOffset: 0))
                sector += count
            }
        }
        return items
    }

    // MARK: Requests

    /// Writes the request into its slot and returns its buffers.
    private func prepare(_ item: WorkItem, in slot: RequestSlot) -> [RequestBuffer] {
        let memory = session.system.guest.memory
        let data = slot.dataA.advanced(by: item.pageOffset)
        let status = slot.control.advanced(by: RequestSlot.statusOffset)
        if item.operation == .echo {
            scratch.withUnsafeMutableBytes { pattern.fill(UnsafeMutableRawBufferPointer(rebasing: $0[..<item.length]), echo: item.index) }
            store(item.length, at: data)
            try? memory.fill(at: slot.dataB.advanced(by: item.pageOffset), count: item.length, with: 0)
            return [RequestBuffer(address: data, length: item.length, direction: .toDevice),
                    RequestBuffer(address: slot.dataB.advanced(by: item.pageOffset), length: item.length, direction: .fromDevice)]
        }
        let type: BlockProtocol.RequestType =
            switch item.operation {
            case .read: .read
            case .write: .write
            case .flush: .flush
            default: .getID
            }
        try? memory.write(at: slot.control, bytes: BlockProtocol.header(type: type.rawValue, sector: item.sector))
        // A status the device never writes reads as this, not as OK.
        try? memory.store(UInt8(0xff), at: status)
        var buffers = [RequestBuffer(address: slot.control, length: BlockProtocol.headerSize, direction: .toDevice)]
        switch item.operation {
        case .write:
            scratch.withUnsafeMutableBytes {
                pattern.fill(UnsafeMutableRawBufferPointer(rebasing: $0[..<item.length]), sector: item.sector, generation: item.index)
            }
            store(item.length, at: data)
            buffers.append(RequestBuffer(address: data, length: item.length, direction: .toDevice))
        case .read, .getID:
            buffers.append(RequestBuffer(address: data, length: item.length, direction: .fromDevice))
        default:
            break
        }
        buffers.append(RequestBuffer(address: status, length: 1, direction: .fromDevice))
        return buffers
    }

    /// Copies the first `count` scratch bytes into guest memory.
    private func store(_ count: Int, at address: GuestAddress) {
        scratch.withUnsafeBytes { bytes in
            try? session.system.guest.memory.write(at: address, from: UnsafeRawBufferPointer(rebasing: bytes[..<count]))
        }
    }

    /// Whether the data a write or echo sent is still what was written into
    /// the guest's buffer.
    private func sourceIntact(_ item: WorkItem, in slot: RequestSlot) -> Bool {
        guard item.operation == .write || item.operation == .echo else { return true }
        guard let bytes = try? session.system.guest.memory.read(at: slot.dataA.advanced(by: item.pageOffset), count: item.length)
        else { return false }
        var expected = [UInt8](repeating: 0, count: item.length)
        expected.withUnsafeMutableBytes { buffer in
            if item.operation == .echo {
                pattern.fill(buffer, echo: item.index)
            } else {
                pattern.fill(buffer, sector: item.sector, generation: item.index)
            }
        }
        return bytes == expected
    }

    /// Checks a completed request: status, `used.len`, data.
    private func check(_ item: WorkItem, in slot: RequestSlot, written: UInt32, into result: inout WorkloadResult) {
        result.completed += 1
        let memory = session.system.guest.memory
        let data = slot.dataA.advanced(by: item.pageOffset)
        if item.operation == .echo {
            result.bytes += item.length
            let sent = (try? memory.read(at: data, count: item.length)) ?? []
            let echoed = (try? memory.read(at: slot.dataB.advanced(by: item.pageOffset), count: item.length)) ?? []
            if sent != echoed || sent.count != item.length { result.fail("\(item.summary): the echo differs from what was sent") }
            if written != UInt32(item.length) { result.fail("\(item.summary): used.len is \(written), expected \(item.length)") }
            return
        }
        let status = (try? memory.load(UInt8.self, at: slot.control.advanced(by: RequestSlot.statusOffset))) ?? 0xff
        let expectedLength: UInt32 = item.operation == .read || item.operation == .getID ? UInt32(item.length + 1) : 1
        guard status == BlockProtocol.Status.ok.rawValue else {
            if item.operation == .write { model.wrote(item, succeeded: false) }
            result.fail("\(item.summary): status \(statusName(status))" + storageReason(item))
            return
        }
        if written != expectedLength { result.fail("\(item.summary): used.len is \(written), expected \(expectedLength)") }
        switch item.operation {
        case .write:
            model.wrote(item, succeeded: true)
            result.bytes += item.length
        case .read:
            result.bytes += item.length
            let bytes = (try? memory.read(at: data, count: item.length)) ?? []
            guard bytes.count == item.length else { return result.fail("\(item.summary): the guest cannot read its buffer") }
            let bad = bytes.withUnsafeBytes { model.check($0, of: item, pattern: pattern) }
            if let bad { result.fail("\(item.summary): sector \(bad) does not hold what was written") }
        default:
            break
        }
    }

    private func statusName(_ status: UInt8) -> String {
        switch BlockProtocol.Status(rawValue: status) {
        case .ok: "OK"
        case .ioError: "IOERR"
        case .unsupported: "UNSUPP"
        case nil: status == 0xff ? "never written" : "invalid (\(status))"
        }
    }

    /// The backend's storage failure behind an IOERR, if it had one.
    private func storageReason(_ item: WorkItem) -> String {
        let offset = item.isTransfer ? item.sector * UInt64(BlockProtocol.sectorSize) : 0
        return session.blockDevice?.failure(at: offset, count: item.isTransfer ? item.length : 0).map { ": \($0)" } ?? ""
    }
}
