import GrantEngine

/// The attacks a hostile backend runs while its device is idle (no request
/// in flight), and the hold across teardown. Each uses only what the
/// backend saw (ring addresses, the last request's buffers), public facts
/// (the guest RAM base of Xen's Arm memory map, the grant table size Xen
/// reports, that another guest exists) and its own hypercalls.
extension HostileBackend {
    /// How many refs `guess-refs` tries at most.
    static let guessLimit = 1024
    /// How many frames a privileged backend scans instead.
    static let frameGuesses = 16

    /// Refs at the top of the guest's grant table and one beyond it, which
    /// the guest's allocator hands out last; or, for a backend that sees
    /// guest-physical addresses, the start of guest RAM.
    func mapUngranted(ramBase: GuestAddress) -> AttackRecord {
        var record = AttackRecord(attack: .mapUngranted)
        if seesGrants {
            let size = tableSize()
            for ref in (max(size, 12) - 4)...size {
                tryGrant(GrantRef(UInt32(ref)), of: frontend, "map \(GrantRef(UInt32(ref)))", into: &record)
            }
        } else {
            tryForeign(ramBase.frame, of: frontend, "foreign-map the first frame of guest RAM", into: &record)
        }
        return record
    }

    /// The bystander's first refs (guests grant from ref 8 up); a
    /// privileged backend foreign-maps its RAM instead.
    func mapOtherDomain(_ other: DomainID, ramBase: GuestAddress) -> AttackRecord {
        var record = AttackRecord(attack: .mapOtherDomain)
        if seesGrants {
            for ref in 8..<12 {
                tryGrant(GrantRef(UInt32(ref)), of: other, "map \(GrantRef(UInt32(ref))) of \(other)", into: &record)
            }
        } else {
            tryForeign(ramBase.frame, of: other, "foreign-map the first frame of \(other)", into: &record)
        }
        return record
    }

    /// The last request's buffers again, after the guest took them back.
    func mapAfterEnd() -> AttackRecord {
        var record = AttackRecord(attack: .mapAfterEnd)
        for descriptor in lastChain {
            let address = descriptor.dmaAddress
            if address.isGrant {
                tryGrant(address.grantRef, of: frontend, "map \(address.grantRef) of a completed request", into: &record)
            } else {
                tryForeign(address.guestAddress.frame, of: frontend, "foreign-map \(address.guestAddress.frame) of a completed request",
                           into: &record)
            }
        }
        return record
    }

    /// Maps a ring page it was given, unmaps it, then unmaps the handle
    /// again, unmaps a handle never issued, and reads through the dead
    /// mapping.
    func reuseHandle() -> AttackRecord {
        var record = AttackRecord(attack: .reuseHandle)
        guard let ring else { return record }
        let hypercalls = me.hypercalls
        if ring.descriptors.isGrant {
            guard let mapping = try? hypercalls.mapGrantRef(ring.descriptors.grantRef, of: frontend, access: .readOnly),
                let handle = mapping.handle
            else { return record }
            try? hypercalls.unmapGrantRef(handle)
            for (action, target) in [("unmap \(handle) a second time", handle), ("unmap handle 0xfffffff0, never issued", MapHandle(0xffff_fff0))] {
                do throws(GrantError) {
                    try hypercalls.unmapGrantRef(target)
                    record.add(action, .succeeded)
                } catch {
                    record.add(action, .refused(.grant(error.status)))
                }
            }
            readThroughDead(mapping, into: &record)
        } else {
            guard let mapping = try? hypercalls.foreignMap(ring.descriptors.guestAddress.frame, of: frontend) else { return record }
            _ = hypercalls.foreignUnmap(mapping)
            record.add("foreign-unmap a second time", hypercalls.foreignUnmap(mapping) ? .succeeded : .refused(.rejected))
            readThroughDead(mapping, into: &record)
        }
        return record
    }

    /// A guest-physical address where a grant belongs: privcmd's foreign
    /// mapping of the start of guest RAM, which Xen allows only privileged
    /// domains.
    func forgeGPA(ramBase: GuestAddress) -> AttackRecord {
        var record = AttackRecord(attack: .forgeGPA)
        tryForeign(ramBase.frame, of: frontend, "foreign-map guest-physical \(ramBase)", into: &record)
        return record
    }

    /// Every ref of the guest's table up to `guessLimit` (grant-bound), or
    /// the first frames of guest RAM (privileged).
    func guessRefs(ramBase: GuestAddress) -> AttackRecord {
        var record = AttackRecord(attack: .guessRefs)
        var counts: [String: Int] = [:]
        var scratch = AttackRecord(attack: .guessRefs)
        if seesGrants {
            for ref in 0..<min(tableSize(), Self.guessLimit) {
                tryGrant(GrantRef(UInt32(ref)), of: frontend, "map", into: &scratch)
            }
        } else {
            for frame in 0..<Self.frameGuesses {
                tryForeign(ramBase.frame.advanced(by: frame), of: frontend, "foreign-map", into: &scratch)
            }
        }
        // One line per kind of result keeps the report short.
        var kinds: [(verdict: Attempt.Verdict, key: String)] = []
        for attempt in scratch.attempts {
            counts[attempt.verdict.kind, default: 0] += 1
            if counts[attempt.verdict.kind] == 1 { kinds.append((attempt.verdict, attempt.verdict.kind)) }
        }
        let noun = seesGrants ? "refs" : "frames"
        for kind in kinds {
            record.add("\(counts[kind.key] ?? 0) of \(scratch.attempts.count) \(noun) tried", kind.verdict)
        }
        return record
    }

    /// Maps the first ring page a second time and keeps it: the device
    /// reset cannot undo a mapping the backend does not give back.
    func beginHold() -> PageMapping? {
        guard let ring else { return nil }
        if ring.descriptors.isGrant {
            return try? me.hypercalls.mapGrantRef(ring.descriptors.grantRef, of: frontend, access: .writable)
        }
        return try? me.hypercalls.foreignMap(ring.descriptors.guestAddress.frame, of: frontend)
    }

    /// Lets go of a held mapping (after the judge looked).
    func endHold(_ mapping: PageMapping) {
        if let handle = mapping.handle {
            try? me.hypercalls.unmapGrantRef(handle)
        } else {
            _ = me.hypercalls.foreignUnmap(mapping)
        }
    }

    // MARK: Steps

    /// Whether the device hands this backend grant addresses.
    var seesGrants: Bool { ring?.descriptors.isGrant ?? true }

    /// Maps `ref` read-only; if Xen lets it, reads the page and asks the
    /// judge what it reached, then unmaps.
    func tryGrant(_ ref: GrantRef, of granter: DomainID, _ action: String, into record: inout AttackRecord) {
        do throws(GrantError) {
            let mapping = try me.hypercalls.mapGrantRef(ref, of: granter, access: .readOnly)
            defer { try? me.hypercalls.unmapGrantRef(mapping.handle ?? MapHandle(.max)) }
            record.add(action, judgeRead(mapping) ?? judge.grantMapped(ref, of: granter))
        } catch {
            record.add(action, .refused(.grant(error.status)))
        }
    }

    /// Foreign-maps `frame`; if Xen lets it, reads it and asks the judge.
    func tryForeign(_ frame: FrameNumber, of owner: DomainID, _ action: String, into record: inout AttackRecord) {
        do throws(ForeignMapError) {
            let mapping = try me.hypercalls.foreignMap(frame, of: owner)
            defer { _ = me.hypercalls.foreignUnmap(mapping) }
            record.add(action, judgeRead(mapping) ?? judge.foreignMapped(frame, of: owner))
        } catch {
            record.add(action, .refused(.errno(error.errnoName)))
        }
    }

    /// A mapping that cannot be read reached nothing.
    private func judgeRead(_ mapping: PageMapping) -> Attempt.Verdict? {
        do throws(MemoryFault) {
            _ = try mapping.read(at: 0, count: XenPage.size)
            return nil
        } catch {
            return .refused(.fault(error))
        }
    }

    private func readThroughDead(_ mapping: PageMapping, into record: inout AttackRecord) {
        do throws(MemoryFault) {
            _ = try mapping.read(at: 0, count: 16)
            record.add("read through the unmapped mapping", .succeeded)
        } catch {
            record.add("read through the unmapped mapping", .refused(.fault(error)))
        }
    }

    private func tableSize() -> Int {
        ((try? me.hypercalls.queryGrantTableSize(of: frontend).frames) ?? 1) * XenPage.size / 8
    }
}
