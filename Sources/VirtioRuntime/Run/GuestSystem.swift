import DeviceTree
import GrantEngine

/// The machine a run simulates: the hypervisor, the guest domain with the
/// RAM its device tree describes, the backend domains, and a bystander —
/// another guest on the same host that grants pages to its own backend,
/// so that attacks can aim at grants of a domain other than the guest.
///
/// Domain ids: the device tree names only backends (`iommus` cells). The
/// guest gets the lowest id from 1 that no backend uses, the bystander
/// and its backend the next free ones. dom0 is privileged (it may
/// foreign-map guest RAM, as direct and bounce devices need), and so are
/// the domains the input names as backends of devices without grants: a
/// driver domain serving such a device must have that right, or the
/// device cannot work in Xen at all.
final class GuestSystem: Sendable {
    /// Backend domains get this much RAM of their own (unused by the run).
    static let backendRAM = GuestRegion(base: GuestAddress(0x4000_0000), size: 1 << 20)
    /// The bystander's pages that it grants to its backend.
    static let bystanderGrants = 4

    let hypervisor: Hypervisor
    let guest: Domain
    /// Another guest whose grants no backend of ours was given.
    let bystander: Domain
    /// The refs the bystander granted (to `bystanderBackend`).
    let bystanderRefs: [GrantRef]
    let bystanderBackend: DomainID
    private let backends: [DomainID: Domain]

    /// Builds the machine for a guest with `ram` and these backend ids;
    /// `privileged` backends (and dom0) may foreign-map the guest's RAM.
    init(ram: [GuestRegion], backendIDs: Set<DomainID>, privileged: Set<DomainID> = []) throws(RunError) {
        hypervisor = Hypervisor(Hypervisor.Configuration(privilegedDomains: privileged.union([.dom0])))
        var used = backendIDs.union([.dom0])
        func fresh() -> DomainID {
            var id = DomainID(1)
            while used.contains(id) { id = DomainID(id.rawValue + 1) }
            used.insert(id)
            return id
        }
        let guestID = fresh()
        let bystanderID = fresh()
        bystanderBackend = fresh()
        do throws(DomainSpecError) {
            guest = try hypervisor.createDomain(DomainSpec(id: guestID, memory: ram))
        } catch {
            throw .tree("the guest's RAM cannot be built: \(error)")
        }
        do throws(DomainSpecError) {
            bystander = try hypervisor.createDomain(DomainSpec(id: bystanderID, memory: [Self.backendRAM]))
            var backends: [DomainID: Domain] = [:]
            for id in backendIDs.union([.dom0]).sorted() {
                backends[id] = try hypervisor.createDomain(DomainSpec(id: id, memory: [Self.backendRAM]))
            }
            self.backends = backends
        } catch {
            throw .machine(error.description)
        }
        bystanderRefs = Self.grantBystanderPages(bystander, to: bystanderBackend)
    }

    /// The domain with this id: a backend, dom0, the guest or the bystander.
    func domain(_ id: DomainID) -> Domain? {
        if id == guest.id { return guest }
        if id == bystander.id { return bystander }
        return backends[id]
    }

    /// The bystander fills pages with its own data and grants them, as a
    /// PV frontend would, to its backend.
    private static func grantBystanderPages(_ bystander: Domain, to backend: DomainID) -> [GrantRef] {
        (0..<bystanderGrants).compactMap { index -> GrantRef? in
            guard let frame = try? bystander.pages.allocate(pages: 1) else { return nil }
            try? bystander.memory.fill(at: frame.address, count: XenPage.size, with: Canary.bystanderByte)
            return try? bystander.grants.grantForeignAccess(to: backend, frame: frame, access: .writable)
        }
    }
}

/// Byte patterns the run fills pages with, to see afterwards whether a
/// backend wrote them and to recognise them in what an attack read.
enum Canary {
    /// Guard pages around every request buffer of the guest.
    static let guestByte: UInt8 = 0xc5
    /// Pages of the bystander guest.
    static let bystanderByte: UInt8 = 0xb7
    /// What a hostile backend writes where it should not.
    static let markerByte: UInt8 = 0x66
}

/// The guest's RAM as its device tree describes it: the `reg` of every
/// available top-level node with `device_type = "memory"`, read with the
/// root's cell counts.
enum GuestRAM {
    static func banks(of tree: DeviceTree) throws(RunError) -> [GuestRegion] {
        let index = TreeIndex(tree)
        let addressCells = Int(index.addressCells(0))
        let sizeCells = Int(index.sizeCells(0))
        var banks: [GuestRegion] = []
        for node in 0..<index.count where index.parent(node) == 0 && index.available[node] {
            guard index.property(node, "device_type")?.string == "memory", let reg = index.property(node, "reg") else { continue }
            let entryCells = addressCells + sizeCells
            guard entryCells > 0 else { continue }
            for entry in 0..<(Cells.count(in: reg) / entryCells) {
                guard let base = Cells.number(entry * entryCells, count: addressCells, in: reg),
                    let size = Cells.number(entry * entryCells + addressCells, count: sizeCells, in: reg),
                    base <= UInt128(UInt64.max), size <= UInt128(UInt64.max), size > 0
                else { continue }
                let bank = GuestRegion(base: GuestAddress(UInt64(base)), size: UInt64(size))
                guard bank.isPageAligned, bank.end != .max else {
                    throw .tree("\(index.path(node)): memory bank \(bank) is not 4 KiB-aligned")
                }
                banks.append(bank)
            }
        }
        guard !banks.isEmpty else {
            throw .tree("the tree has no memory node (device_type = \"memory\" with a reg): the run needs the guest's RAM")
        }
        return banks
    }

    /// The size of a `restricted-dma-pool` given by `size` only (Linux
    /// places such a pool at boot).
    static func poolSize(_ path: String, in tree: DeviceTree) -> UInt64? {
        let index = TreeIndex(tree)
        guard let node = index.table.index(ofPath: path), let size = index.property(node, "size"),
            let value = Cells.number(0, count: Int(index.sizeCells(0)), in: size), value <= UInt128(UInt64.max)
        else { return nil }
        return UInt64(value)
    }
}
