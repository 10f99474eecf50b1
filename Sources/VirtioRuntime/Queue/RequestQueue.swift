import GrantEngine

/// One buffer of a request in guest memory, with the way its data goes.
struct RequestBuffer: Hashable {
    var address: GuestAddress
    var length: Int
    var direction: DMADirection
}

/// Why the guest's request path failed.
enum RequestError: Error, CustomStringConvertible {
    case driver(DriverError)
    /// A DMA map or unmap failed for a reason other than a passing
    /// shortage of grants or pool slots.
    case dma(DMAError)
    /// Unmapping found a grant still in use: the DMA ops broke the device
    /// and leaked the grants; the buffers must never be reused.
    case broken(DMAError)
    case queue(QueueError)
    /// Nothing is in flight and the next request still cannot be queued.
    case stalled(String)
    /// The device answered a request with an error.
    case failed(String)

    var description: String {
        switch self {
        case .driver(let error): error.description
        case .dma(let error): error.description
        case .broken(let error): error.description
        case .queue(let error): error.description
        case .stalled(let reason), .failed(let reason): reason
        }
    }
}

/// The guest's request path over one virtqueue, as the virtio core and
/// Linux's DMA API do it: every buffer mapped through the device's DMA
/// ops (to-device, from-device) when the request is queued, the chain
/// added, and on reclaim every buffer unmapped (which ends its grants).
/// Used from the guest's thread only.
final class RequestQueue {
    private struct Mapped {
        let address: DMAAddress
        let length: Int
        let direction: DMADirection
    }

    let driver: VirtioMMIODriver
    let queue: QueueDriver
    /// What the queue keeps from request to request, in one property:
    /// each method takes it out once and puts it back (element by element
    /// through the class, every array access paid Swift's dynamic
    /// exclusivity check).
    private var records: Records
    /// The first end of access that failed; the device is broken since.
    private(set) var brokenBy: DMAError?
    /// Requests whose buffers could not all be unmapped: grants on them
    /// may still be live, so their memory must never be reused.
    private(set) var quarantined: Set<Int> = []

    private struct Released {
        let token: Int
        let descriptor: UInt16
        /// 0 for a chain's head.
        let position: Int
    }

    private struct Records {
        /// Per descriptor: the buffer it carries while its chain is out
        /// (as Linux's `desc_extra` holds what to unmap). A table, not an
        /// array per request: submitting and reaping allocate nothing.
        var mapped: [Mapped]
        /// Scratch, emptied before each use, storage kept: the descriptors of the chains the queue gave back, in order.
        var released: [Released] = []
    }

    init(driver: VirtioMMIODriver, queue: QueueDriver) {
        self.driver = driver
        self.queue = queue
        records = Records(mapped: Array(
            repeating: Mapped(address: DMAAddress(rawValue: 0), length: 0, direction: .toDevice), count: queue.size))
    }

    private var dma: any DMAOps { driver.dma }

    /// Maps the buffers and adds the chain under `token`. Returns false,
    /// having undone its maps, when grants, pool slots or descriptors are
    /// short for now: reap completions and try again.
    func submit(_ buffers: [RequestBuffer], token: Int) throws(RequestError) -> Bool {
        guard buffers.count <= queue.freeDescriptors else { return false }
        // What was mapped, and the chain's segments, on the stack: no
        // array per request. (Both element types are trivial.)
        return try withUnsafeTemporaryAllocation(of: Mapped.self, capacity: buffers.count) { (done) throws(RequestError) -> Bool in
            for (position, buffer) in buffers.enumerated() {
                do throws(DMAError) {
                    let address = try dma.map(buffer.address, length: buffer.length, direction: buffer.direction)
                    done.initializeElement(at: position, to: Mapped(address: address, length: buffer.length, direction: buffer.direction))
                } catch {
                    try unmap(done[..<position], token: token)
                    switch error {
                    case .outOfGrants, .poolExhausted: return false
                    default: throw .dma(error)
                    }
                }
            }
            return try withUnsafeTemporaryAllocation(of: Segment.self, capacity: buffers.count) { (segments) throws(RequestError) -> Bool in
                for position in done.indices {
                    let buffer = done[position]
                    segments.initializeElement(
                        at: position, to: Segment(address: buffer.address, length: buffer.length, deviceWritable: buffer.direction != .toDevice))
                }
                var records = takeRecords()
                defer { self.records = records }
                do throws(QueueError) {
                    try queue.add(segments, token: token) { position, descriptor in records.mapped[Int(descriptor)] = done[position] }
                } catch {
                    throw .queue(error)
                }
                return true
            }
        }
    }

    /// The records, taken out of the property (one access; put them back).
    private func takeRecords() -> Records {
        var taken = Records(mapped: [])
        swap(&taken, &records)
        return taken
    }

    /// Publishes what was added and notifies the device unless it said it
    /// is already polling.
    func kick() throws(RequestError) {
        let wanted: Bool
        do throws(QueueError) { wanted = try queue.publish() } catch { throw .queue(error) }
        if wanted { driver.notify() }
    }

    /// Completed requests, without waiting; their buffers are unmapped.
    /// Should an unmap fail, the requests after that one keep their
    /// buffers mapped.
    func reap() throws(RequestError) -> [Completion] {
        var records = takeRecords()
        defer { self.records = records }
        records.released.removeAll(keepingCapacity: true)
        let completions: [Completion]
        do throws(QueueError) {
            completions = try queue.reclaim { records.released.append(Released(token: $0, descriptor: $1, position: $2)) }
        } catch {
            throw .queue(error)
        }
        try unmapChains(records, stopAtFailure: true)
        return completions
    }

    /// Completed requests, waiting for an interrupt when there are none yet.
    func waitForCompletions() throws(RequestError) -> [Completion] {
        while true {
            let mark = driver.interruptMark
            let completions = try reap()
            if !completions.isEmpty { return completions }
            do throws(DriverError) { try driver.waitForInterrupt(after: mark) } catch { throw .driver(error) }
        }
    }

    /// After a reset: unmaps every request the device did not complete and
    /// returns their tokens (the caller requeues or drops them).
    func abandonInFlight() throws(RequestError) -> [Int] {
        var records = takeRecords()
        defer { self.records = records }
        records.released.removeAll(keepingCapacity: true)
        let tokens = queue.abandonAll { records.released.append(Released(token: $0, descriptor: $1, position: $2)) }
        try unmapChains(records, stopAtFailure: false)
        return tokens
    }

    /// Unmaps the buffers of the chains in `records.released`, chain by
    /// chain; throws the first failure, after the chain it failed in, or
    /// after every chain unless `stopAtFailure`.
    private func unmapChains(_ records: Records, stopAtFailure: Bool) throws(RequestError) {
        let (released, mapped) = (records.released, records.mapped)
        var failure: RequestError?
        var start = 0
        while start < released.count {
            var end = start + 1
            while end < released.count, released[end].position != 0 { end += 1 }
            do throws(RequestError) {
                try unmap(released[start..<end].lazy.map { mapped[Int($0.descriptor)] }, token: released[start].token)
            } catch {
                if stopAtFailure { throw error }
                failure = failure ?? error
            }
            start = end
        }
        if let failure { throw failure }
    }

    private func unmap<Buffers: Sequence<Mapped>>(_ buffers: Buffers, token: Int) throws(RequestError) {
        var failure: RequestError?
        for buffer in buffers {
            do throws(DMAError) {
                try dma.unmap(buffer.address, length: buffer.length, direction: buffer.direction)
            } catch {
                switch error {
                case .grantStillInUse, .deviceBroken:
                    brokenBy = brokenBy ?? error
                    failure = failure ?? .broken(error)
                default:
                    failure = failure ?? .dma(error)
                }
            }
        }
        if let failure {
            quarantined.insert(token)
            throw failure
        }
    }
}
