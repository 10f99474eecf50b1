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
    private var mapped: [Int: [Mapped]] = [:]
    /// The first end of access that failed; the device is broken since.
    private(set) var brokenBy: DMAError?
    /// Requests whose buffers could not all be unmapped: grants on them
    /// may still be live, so their memory must never be reused.
    private(set) var quarantined: Set<Int> = []

    init(driver: VirtioMMIODriver, queue: QueueDriver) {
        self.driver = driver
        self.queue = queue
    }

    var inFlight: Int { mapped.count }
    private var dma: any DMAOps { driver.dma }

    /// Maps the buffers and adds the chain under `token`. Returns false,
    /// having undone its maps, when grants, pool slots or descriptors are
    /// short for now: reap completions and try again.
    func submit(_ buffers: [RequestBuffer], token: Int) throws(RequestError) -> Bool {
        guard buffers.count <= queue.freeDescriptors else { return false }
        var done: [Mapped] = []
        done.reserveCapacity(buffers.count)
        for buffer in buffers {
            do throws(DMAError) {
                let address = try dma.map(buffer.address, length: buffer.length, direction: buffer.direction)
                done.append(Mapped(address: address, length: buffer.length, direction: buffer.direction))
            } catch {
                try unmap(done, token: token)
                switch error {
                case .outOfGrants, .poolExhausted: return false
                default: throw .dma(error)
                }
            }
        }
        let segments = done.map { Segment(address: $0.address, length: $0.length, deviceWritable: $0.direction != .toDevice) }
        do throws(QueueError) { try queue.add(segments, token: token) } catch { throw .queue(error) }
        mapped[token] = done
        return true
    }

    /// Publishes what was added and notifies the device unless it said it
    /// is already polling.
    func kick() throws(RequestError) {
        let wanted: Bool
        do throws(QueueError) { wanted = try queue.publish() } catch { throw .queue(error) }
        if wanted { driver.notify() }
    }

    /// Completed requests, without waiting; their buffers are unmapped.
    func reap() throws(RequestError) -> [Completion] {
        let completions: [Completion]
        do throws(QueueError) { completions = try queue.reclaim() } catch { throw .queue(error) }
        for completion in completions {
            try unmap(mapped.removeValue(forKey: completion.token) ?? [], token: completion.token)
        }
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
        let tokens = queue.abandonAll()
        var failure: RequestError?
        for token in tokens {
            do throws(RequestError) {
                try unmap(mapped.removeValue(forKey: token) ?? [], token: token)
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return tokens
    }

    private func unmap(_ buffers: [Mapped], token: Int) throws(RequestError) {
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
