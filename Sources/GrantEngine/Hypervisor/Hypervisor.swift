import Synchronization

/// The security policy (Xen's XSM hooks for grant operations). The default
/// (Xen's dummy policy) allows everything; a policy can refuse, and Xen
/// then answers `GNTST_permission_denied`.
public struct GrantPolicy: Sendable {
    public enum Request: Hashable, Sendable {
        case map(mapper: DomainID, granter: DomainID)
        case unmap(mapper: DomainID, granter: DomainID)
        case copy(source: DomainID, destination: DomainID)
    }

    private let decide: @Sendable (Request) -> Bool
    /// Set for `allowAll` only: every check then answers without calling
    /// (and retaining) a closure — the default policy is on every map and
    /// unmap.
    private let allowsEverything: Bool

    /// A policy that allows what `decide` returns true for.
    public init(_ decide: @escaping @Sendable (Request) -> Bool) {
        self.decide = decide
        allowsEverything = false
    }

    private init(allowingEverything: ()) {
        decide = { _ in true }
        allowsEverything = true
    }

    public static let allowAll = GrantPolicy(allowingEverything: ())

    public func allows(_ request: Request) -> Bool { allowsEverything || decide(request) }
}

/// How to build a domain.
public struct DomainSpec: Sendable {
    public var id: DomainID
    /// RAM banks (page-aligned, disjoint). Frames cost memory only once
    /// touched.
    public var memory: [GuestRegion]
    /// `max_grant_frames`: the grant table starts at 1 frame and grows to
    /// this (Xen's default 64 frames = 32,768 v1 entries).
    public var maxGrantFrames: Int
    /// `max_maptrack_frames`: how many mappings this domain may hold
    /// (Xen's default 1,024 frames of 256 handles).
    public var maxMaptrackFrames: Int

    public static let defaultMaxGrantFrames = 64
    public static let defaultMaxMaptrackFrames = 1024
    /// On Arm the grant table lives in the `hypervisor` node's 16 MiB
    /// region: at most 4,096 frames fit.
    public static let grantFramesLimit = 4096

    public init(
        id: DomainID, memory: [GuestRegion], maxGrantFrames: Int = DomainSpec.defaultMaxGrantFrames,
        maxMaptrackFrames: Int = DomainSpec.defaultMaxMaptrackFrames
    ) {
        self.id = id
        self.memory = memory
        self.maxGrantFrames = maxGrantFrames
        self.maxMaptrackFrames = maxMaptrackFrames
    }
}

/// Why a domain could not be created.
public enum DomainSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicateID(DomainID)
    case reservedID(DomainID)
    case unalignedBank(GuestRegion)
    case overlappingBanks(GuestRegion, GuestRegion)
    case bankBeyondFrameLimit(GuestRegion)
    case maxGrantFrames(Int)
    case maxMaptrackFrames(Int)

    public var description: String {
        switch self {
        case .duplicateID(let id): "domain \(id) already exists"
        case .reservedID(let id): "domain id \(id.rawValue) is reserved (ids from 0x7ff0 on name no domain)"
        case .unalignedBank(let bank): "memory bank \(bank) is empty or not 4 KiB-aligned"
        case .overlappingBanks(let first, let second): "memory banks \(first) and \(second) overlap"
        case .bankBeyondFrameLimit(let bank):
            "memory bank \(bank) reaches beyond frame 0xffffffff, which a v1 grant entry cannot name"
        case .maxGrantFrames(let count):
            "max_grant_frames \(count) is outside 1…\(DomainSpec.grantFramesLimit)"
        case .maxMaptrackFrames(let count): "max_maptrack_frames \(count) is negative"
        }
    }
}

/// The hypervisor: owns the domains, their memory and grant tables, checks
/// every grant and foreign-mapping operation the way Xen does, and logs
/// every refusal.
public final class Hypervisor: Sendable {
    public struct Configuration: Sendable {
        /// Domains that may foreign-map any guest frame (privcmd); Xen's
        /// default policy gives this to the control domain only.
        public var privilegedDomains: Set<DomainID>
        public var policy: GrantPolicy
        /// How many refused operations the event log keeps.
        public var eventLogCapacity: Int

        public init(privilegedDomains: Set<DomainID> = [.dom0], policy: GrantPolicy = .allowAll, eventLogCapacity: Int = 100_000) {
            self.privilegedDomains = privilegedDomains
            self.policy = policy
            self.eventLogCapacity = eventLogCapacity
        }
    }

    public let configuration: Configuration
    /// Every refused operation, across all domains.
    public let events: EventLog
    /// Indexed by domain id (ids stop below `DomainID.firstReserved`).
    private let domains = Lock<[DomainRecord?]>(Array(repeating: nil, count: Int(DomainID.firstReserved.rawValue)))
    private let machine = MachineMemory()

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        events = EventLog(capacity: configuration.eventLogCapacity)
    }

    /// The ids of the live domains, sorted.
    public var domainIDs: [DomainID] { domains.withLock { $0.compactMap { $0?.id } } }

    /// Creates a domain and returns its capability: the only object through
    /// which its memory, grant table and hypercalls are reached.
    public func createDomain(_ spec: DomainSpec) throws(DomainSpecError) -> Domain {
        try Self.validate(spec)
        let memory = GuestMemory(banks: spec.memory, machine: machine)
        let record = DomainRecord(
            id: spec.id, memory: memory,
            table: GrantTable(owner: spec.id, maxFrames: spec.maxGrantFrames, memory: memory),
            maptrack: Maptrack(maxFrames: spec.maxMaptrackFrames, log: events))
        let inserted = domains.withLock { domains -> Bool in
            guard domains[Int(spec.id.rawValue)] == nil else { return false }
            domains[Int(spec.id.rawValue)] = record
            return true
        }
        guard inserted else { throw .duplicateID(spec.id) }
        return Domain(record: record, hypervisor: self)
    }

    /// Destroys a domain as Xen does when it dies: its own grant and foreign
    /// mappings are dropped (pins released, so granters can end access),
    /// and it can no longer be named. Pages of it that others still map
    /// stay alive until they unmap.
    public func destroy(_ domain: Domain) {
        let record = domain.record
        domains.withLock { $0[Int(record.id.rawValue)] = nil }
        record.isAlive.store(false, ordering: .releasing)
        let taken = record.maptrack.takeAll()
        for mapping in taken { mapping.revoke() }
        for mapping in taken { mapping.granter.unpin(mapping.ref, readOnly: mapping.readOnly) }
        record.foreign.revokeAll()
    }

    func record(_ id: DomainID) -> DomainRecord? {
        guard id < DomainID.firstReserved else { return nil }
        return domains.withLock { $0[Int(id.rawValue)] }
    }

    func isPrivileged(_ id: DomainID) -> Bool { configuration.privilegedDomains.contains(id) }

    private static func validate(_ spec: DomainSpec) throws(DomainSpecError) {
        guard spec.id < DomainID.firstReserved else { throw .reservedID(spec.id) }
        guard (1...DomainSpec.grantFramesLimit).contains(spec.maxGrantFrames) else { throw .maxGrantFrames(spec.maxGrantFrames) }
        guard spec.maxMaptrackFrames >= 0 else { throw .maxMaptrackFrames(spec.maxMaptrackFrames) }
        let banks = spec.memory.sorted { $0.base < $1.base }
        for (index, bank) in banks.enumerated() {
            guard bank.isPageAligned, bank.size > 0, bank.end != .max else { throw .unalignedBank(bank) }
            guard (bank.end - 1) >> UInt64(XenPage.shift) <= UInt64(UInt32.max) else { throw .bankBeyondFrameLimit(bank) }
            if index > 0, banks[index - 1].overlaps(bank) { throw .overlappingBanks(banks[index - 1], bank) }
        }
    }
}

/// What the hypervisor keeps per domain.
final class DomainRecord: Sendable {
    let id: DomainID
    let memory: GuestMemory
    let table: GrantTable
    let maptrack: Maptrack
    let foreign = ForeignMappings()
    let isAlive = Atomic<Bool>(true)

    init(id: DomainID, memory: GuestMemory, table: GrantTable, maptrack: Maptrack) {
        self.id = id
        self.memory = memory
        self.table = table
        self.maptrack = maptrack
    }
}

/// The foreign mappings one domain holds (in Xen: entries of its p2m).
final class ForeignMappings: Sendable {
    private struct Live {
        let slot: MapSlot
        let frame: Frame
        let token: UInt64
    }

    private let live = Lock<[ObjectIdentifier: Live]>([:])

    func add(_ frame: Frame, log: EventLog) -> (slot: MapSlot, token: UInt64) {
        let slot = MapSlot(log: log)
        slot.activate(1)
        live.withLock { $0[ObjectIdentifier(slot)] = Live(slot: slot, frame: frame, token: 1) }
        return (slot, 1)
    }

    /// Unmaps one mapping; false if it is not (or no longer) held here.
    func remove(_ slot: MapSlot) -> Bool {
        guard let removed = live.withLock({ $0.removeValue(forKey: ObjectIdentifier(slot)) }) else { return false }
        removed.slot.revoke(removed.token, on: removed.frame)
        return true
    }

    func revokeAll() {
        let all = live.withLock { live in
            defer { live.removeAll() }
            return Array(live.values)
        }
        for mapping in all { mapping.slot.revoke(mapping.token, on: mapping.frame) }
    }
}
