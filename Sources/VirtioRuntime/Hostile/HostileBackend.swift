import GrantEngine

/// A backend that also attacks. It serves its device normally (so the
/// workload still verifies), watches what it is given — the rings' device
/// addresses, every request's buffers — and then tries to reach more,
/// with nothing but its own domain's hypercalls and the mappings it was
/// legitimately given. Whether an attempt got through is decided by
/// `AttackJudge`, which holds the guest's view and never helps the
/// attacker.
final class HostileBackend: RequestObserver {
    struct Ring {
        let size: Int
        let descriptors: DMAAddress
        let avail: DMAAddress
        let used: DMAAddress
    }

    private struct Observed {
        var ring: Ring?
        /// The descriptors of the last request served.
        var lastChain: [Descriptor] = []
        /// Set by `arm`: attack the next request that carries data to the
        /// device.
        var armed = false
        var inRequest: [AttackRecord] = []
    }

    /// The backend's own domain: its hypercalls are all it has.
    let me: Domain
    let judge: AttackJudge
    /// Which device-readable buffer of a request holds data (virtio-blk:
    /// 1, after the header; loopback: 0).
    let dataBuffer: Int
    private let observed = Monitor(Observed())

    init(me: Domain, judge: AttackJudge, dataBuffer: Int) {
        self.me = me
        self.judge = judge
        self.dataBuffer = dataBuffer
    }

    var frontend: DomainID { judge.guest.id }

    var ring: Ring? { observed.withLock { $0.ring } }
    var lastChain: [Descriptor] { observed.withLock { $0.lastChain } }

    /// Makes the backend attack the next request with device-readable data.
    func arm() { observed.withLock { $0.armed = true } }

    /// The in-request attacks' records (write-readonly,
    /// read-outside-buffer), once the armed request was served.
    func takeInRequestRecords() -> [AttackRecord] {
        observed.withLock { state in
            defer { state.inRequest = [] }
            return state.inRequest
        }
    }

    // MARK: RequestObserver (the backend's worker thread)

    func queueActivated(size: Int, descriptors: DMAAddress, avail: DMAAddress, used: DMAAddress) {
        observed.withLock { $0.ring = Ring(size: size, descriptors: descriptors, avail: avail, used: used) }
    }

    func served(_ chain: MappedChain, accessor: BackendAccessor) {
        let armed = observed.withLock { state -> Bool in
            state.lastChain = chain.descriptors
            guard state.armed, chain.readable.count > dataBuffer else { return false }
            state.armed = false
            return true
        }
        guard armed else { return }
        let data = chain.readable[dataBuffer]
        let records = [writeReadOnly(data, accessor: accessor), readOutside(data, accessor: accessor)]
        observed.withLock { $0.inRequest = records }
    }

    // MARK: In-request attacks

    /// Writes a marker into the device-readable data buffer: through the
    /// read-only mapping, then through a writable mapping of its first ref.
    /// The judge looks at the guest's buffer once the request completed.
    private func writeReadOnly(_ buffer: BufferMapping, accessor: BackendAccessor) -> AttackRecord {
        var record = AttackRecord(attack: .writeReadOnly)
        let marker = [UInt8](repeating: Canary.markerByte, count: 8)
        if let page = buffer.pages.first {
            do throws(MemoryFault) {
                try page.write(at: buffer.address.pageOffset, bytes: marker)
                record.add("write through the buffer's own mapping", .contained)
            } catch {
                record.add("write through the buffer's own mapping", .refused(.fault(error)))
            }
        }
        if buffer.address.isGrant {
            let hypercalls = me.hypercalls
            do throws(GrantError) {
                let mapping = try hypercalls.mapGrantRef(buffer.address.grantRef, of: frontend, access: .writable)
                defer { try? hypercalls.unmapGrantRef(mapping.handle ?? MapHandle(.max)) }
                do throws(MemoryFault) {
                    try mapping.write(at: buffer.address.pageOffset, bytes: marker)
                    record.add("map \(buffer.address.grantRef) writable and write", .contained)
                } catch {
                    record.add("map \(buffer.address.grantRef) writable and write", .refused(.fault(error)))
                }
            } catch {
                record.add("map \(buffer.address.grantRef) writable", .refused(.grant(error.status)))
            }
        }
        return record
    }

    /// Reads past the end of a buffer: through the buffer (bounds), the
    /// rest of its last page (page-granular, so reachable), the next page.
    private func readOutside(_ buffer: BufferMapping, accessor: BackendAccessor) -> AttackRecord {
        var record = AttackRecord(attack: .readOutsideBuffer)
        do throws(MemoryFault) {
            _ = try buffer.read(at: buffer.length, count: 64)
            record.add("read 64 bytes past the buffer through it", .succeeded)
        } catch {
            record.add("read 64 bytes past the buffer through it", .refused(.fault(error)))
        }
        let end = buffer.address.pageOffset + buffer.length
        if end % XenPage.size != 0, let page = buffer.pages.last {
            let offset = end % XenPage.size
            do throws(MemoryFault) {
                _ = try page.read(at: offset, count: XenPage.size - offset)
                record.add("read the rest of the buffer's last page", .contained)
            } catch {
                record.add("read the rest of the buffer's last page", .refused(.fault(error)))
            }
        }
        let pages = XenPage.count(offset: buffer.address.pageOffset, length: buffer.length)
        if buffer.address.isGrant {
            tryGrant(buffer.address.grantRef.advanced(by: pages), of: frontend, "map the ref after the buffer", into: &record)
        } else {
            let next = buffer.address.guestAddress.frame.advanced(by: pages)
            tryForeign(next, of: frontend, "foreign-map the frame after the buffer", into: &record)
        }
        return record
    }
}

extension PageMapping {
    func write(at offset: Int, bytes: [UInt8]) throws(MemoryFault) {
        var failure: MemoryFault?
        bytes.withUnsafeBytes { buffer in
            do throws(MemoryFault) { try write(at: offset, from: buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
