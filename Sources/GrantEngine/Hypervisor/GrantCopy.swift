/// One grant copy operation (`GNTTABOP_copy`): `length` bytes from one
/// page to another, either side named by a grant ref of some domain or by
/// a frame of the caller itself.
public struct GrantCopy: Hashable, Sendable {
    public enum Reference: Hashable, Sendable {
        /// A ref of `domain`'s grant table (`GNTCOPY_*_gref`).
        case grant(GrantRef)
        /// A frame; allowed only with `DomainID.selfID`.
        case frame(FrameNumber)
    }

    public struct Endpoint: Hashable, Sendable {
        public var reference: Reference
        public var domain: DomainID
        public var offset: UInt16

        public init(_ reference: Reference, of domain: DomainID, offset: UInt16 = 0) {
            self.reference = reference
            self.domain = domain
            self.offset = offset
        }
    }

    public var source: Endpoint
    public var destination: Endpoint
    public var length: UInt16

    public init(from source: Endpoint, to destination: Endpoint, length: UInt16) {
        self.source = source
        self.destination = destination
        self.length = length
    }
}

extension Hypercalls {
    /// Performs one copy with Xen's checks in Xen's order (grant-dma.md
    /// §8.4): domains, policy, source then destination claimed (a grant is
    /// pinned for the copy only: read-only for the source, writable for the
    /// destination), then the page bounds. No maptrack handle is used.
    public func grantCopy(_ operation: GrantCopy) throws(GrantError) {
        guard operation.length > 0 else { return }
        // The side a refusal concerns, for the log; moves as checks pass.
        var blamed = (endpoint: operation.source, access: Access.readOnly)
        let destinationSide = (endpoint: operation.destination, access: Access.writable)
        do throws(GrantError) {
            try requireAlive()
            let source = try lockDomain(operation.source)
            blamed = destinationSide
            let destination = try lockDomain(operation.destination)
            blamed = (operation.source, .readOnly)
            try permit(.copy(source: source.id, destination: destination.id))
            let from = try claim(operation.source, of: source, readOnly: true)
            defer { from.release() }
            blamed = destinationSide
            let to = try claim(operation.destination, of: destination, readOnly: false)
            defer { to.release() }
            for side in [(operation.source, Access.readOnly), destinationSide] {
                blamed = side
                guard Int(side.0.offset) + Int(operation.length) <= XenPage.size else {
                    throw GrantError.copyCrossesPage(offset: side.0.offset, length: operation.length)
                }
            }
            Self.copyBytes(from: from.frame, at: Int(operation.source.offset), to: to.frame,
                           at: Int(operation.destination.offset), count: Int(operation.length))
        } catch {
            let domain = blamed.endpoint.domain == .selfID ? caller : blamed.endpoint.domain
            hypervisor.events.record(error, .grantCopy, caller: caller, target: domain,
                                     location: blamed.endpoint.location, access: blamed.access)
            throw error
        }
    }

    /// Performs copies in order, each with its own status.
    public func grantCopy(_ operations: [GrantCopy]) -> [GrantStatus] {
        operations.map { operation in
            do throws(GrantError) {
                try grantCopy(operation)
                return .okay
            } catch {
                return error.status
            }
        }
    }

    private struct Claimed {
        let frame: Frame
        let release: () -> Void
    }

    /// Only `DOMID_SELF` may name a frame; other domains must exist.
    private func lockDomain(_ endpoint: GrantCopy.Endpoint) throws(GrantError) -> DomainRecord {
        if case .frame = endpoint.reference, endpoint.domain != .selfID { throw .frameOfOtherDomain(endpoint.domain) }
        guard let record = endpoint.domain == .selfID ? me : hypervisor.record(endpoint.domain) else {
            throw .unknownDomain(endpoint.domain)
        }
        return record
    }

    private func claim(_ endpoint: GrantCopy.Endpoint, of record: DomainRecord, readOnly: Bool) throws(GrantError) -> Claimed {
        switch endpoint.reference {
        case .grant(let ref):
            let frame = try record.table.pin(ref, by: caller, readOnly: readOnly)
            return Claimed(frame: frame) { record.table.unpin(ref, readOnly: readOnly) }
        case .frame(let number):
            guard let frame = record.memory.frame(number) else { throw .badOwnFrame(number) }
            return Claimed(frame: frame) {}
        }
    }

    /// Copies through a scratch page, taking one frame lock at a time.
    private static func copyBytes(from source: Frame, at sourceOffset: Int, to destination: Frame, at destinationOffset: Int, count: Int) {
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 16) { scratch in
            guard let base = scratch.baseAddress else { return }
            source.withBytes { page in base.copyMemory(from: page + sourceOffset, byteCount: count) }
            destination.withBytes { page in (page + destinationOffset).copyMemory(from: base, byteCount: count) }
        }
    }
}

extension GrantCopy.Endpoint {
    var location: GrantEvent.Location {
        switch reference {
        case .grant(let ref): .ref(ref)
        case .frame(let frame): .frame(frame)
        }
    }
}
