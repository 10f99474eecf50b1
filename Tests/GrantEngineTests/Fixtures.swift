import GrantEngine

/// A small Xen system: dom0, a guest (d1) with 16 MiB of RAM at 1 GiB
/// (GUEST_RAM0_BASE on Arm), a driver-domain backend (d2) and a third
/// domain (d3) that is granted nothing.
struct System {
    static let guestID = DomainID(1)
    static let backendID = DomainID(2)
    static let otherID = DomainID(3)
    static let ramBase = GuestAddress(0x4000_0000)
    static let ramSize: UInt64 = 16 << 20

    let hypervisor: Hypervisor
    let dom0: Domain
    let guest: Domain
    let backend: Domain
    let other: Domain

    init(
        configuration: Hypervisor.Configuration = Hypervisor.Configuration(),
        guestGrantFrames: Int = DomainSpec.defaultMaxGrantFrames,
        backendMaptrackFrames: Int = DomainSpec.defaultMaxMaptrackFrames
    ) throws {
        hypervisor = Hypervisor(configuration)
        dom0 = try hypervisor.createDomain(DomainSpec(id: .dom0, memory: [GuestRegion(base: GuestAddress(0x4000_0000), size: 1 << 20)]))
        guest = try hypervisor.createDomain(
            DomainSpec(id: Self.guestID, memory: [GuestRegion(base: Self.ramBase, size: Self.ramSize)], maxGrantFrames: guestGrantFrames))
        backend = try hypervisor.createDomain(
            DomainSpec(id: Self.backendID, memory: [GuestRegion(base: GuestAddress(0x4000_0000), size: 1 << 20)],
                       maxMaptrackFrames: backendMaptrackFrames))
        other = try hypervisor.createDomain(DomainSpec(id: Self.otherID, memory: [GuestRegion(base: GuestAddress(0x4000_0000), size: 1 << 20)]))
    }

    /// Allocates a guest page, fills it with `byte` and grants it to `to`.
    func grantedPage(to grantee: DomainID = System.backendID, access: Access = .writable, byte: UInt8 = 0xab) throws -> (ref: GrantRef, frame: FrameNumber) {
        let frame = try guest.pages.allocate(pages: 1)
        try guest.memory.fill(at: frame.address, count: 4096, with: byte)
        let ref = try guest.grants.grantForeignAccess(to: grantee, frame: frame, access: access)
        return (ref, frame)
    }

    /// Canary pages around the memory a test grants: pages filled with a
    /// pattern that no backend may read or change.
    func canaries(_ count: Int = 4) throws -> Canaries {
        let first = try guest.pages.allocate(pages: count)
        let canaries = Canaries(first: first, count: count)
        for page in 0..<count {
            try guest.memory.fill(at: first.advanced(by: page).address, count: 4096, with: canaries.byte(page))
        }
        return canaries
    }

    var events: [GrantEvent] { hypervisor.events.events }
}

/// Pages of a known pattern: `intact` proves no byte was written.
struct Canaries {
    let first: FrameNumber
    let count: Int

    func byte(_ page: Int) -> UInt8 { UInt8(0xc0 + page) }

    func intact(in memory: GuestMemory) throws -> Bool {
        for page in 0..<count {
            let bytes = try memory.read(at: first.advanced(by: page).address, count: 4096)
            guard bytes.allSatisfy({ $0 == byte(page) }) else { return false }
        }
        return true
    }

    /// Whether `bytes` contain any canary pattern run (a leak).
    func leaked(into bytes: [UInt8]) -> Bool {
        (0..<count).contains { page in bytes.contains(byte(page)) }
    }
}

