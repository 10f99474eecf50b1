import DeviceTree
import GrantEngine

/// The DMA side of one device: the ops its frontend uses, the domain its
/// backend runs in, and what that backend may reach.
struct DeviceDMA {
    let ops: any DMAOps
    let backend: Domain
    /// The restricted pool the backend's guest-physical accesses must stay
    /// in (bounce), nil otherwise.
    let window: GuestRegion?
    /// Long-lived regions the backend maps once (the grant pool).
    let longLived: [LongLivedRegion]
    /// Bound to Xen grant DMA by the tree (`iommus` → `xen,grant-dma`).
    let grantBound: Bool

    var kind: DMAKind { ops.kind }

    /// The backend's way to guest memory, through its own hypercalls only.
    func accessor(frontend: DomainID) -> BackendAccessor {
        BackendAccessor(backend: backend, frontend: frontend, foreignWindow: window)
    }
}

/// Gives each device the DMA ops Linux would (grant-dma.md §4): grant DMA
/// ops (or our grant pool) towards the backend the tree names; a bounce
/// pool, shared by every device that names the same `restricted-dma-pool`
/// as Linux shares it; dma-direct otherwise. Non-grant devices are served
/// by dom0, the only domain that may foreign-map guest RAM, unless the
/// caller names another backend.
final class DMAOpsFactory {
    let system: GuestSystem
    let tree: DeviceTree
    let mode: GrantMode
    let queueDepth: Int
    let maxRequest: Int
    private var bouncePools: [String: BounceDMAOps] = [:]

    init(system: GuestSystem, tree: DeviceTree, mode: GrantMode, queueDepth: Int, maxRequest: Int) {
        self.system = system
        self.tree = tree
        self.mode = mode
        self.queueDepth = queueDepth
        self.maxRequest = maxRequest
    }

    /// Pages of a grant pool: room for `queueDepth` requests of the
    /// largest size, each buffer in whole pages (virtio-blk: header, data,
    /// status; loopback: two data buffers), and a few spare.
    func poolPages(for kind: DeviceKind) -> Int {
        let data = XenPage.count(offset: 0, length: maxRequest)
        return queueDepth * (kind == .block ? data + 2 : 2 * data) + 8
    }

    func make(for device: DeviceBinding, kind: DeviceKind, backend override: DomainID?) throws(RunError) -> DeviceDMA {
        guard let binding = device.state.dma else { throw .tree("\(device.path) is disabled") }
        switch binding {
        case .grant(let domid):
            let backend = try domain(DomainID(UInt16(truncatingIfNeeded: domid)), for: device.path)
            switch mode {
            case .perRequest:
                return DeviceDMA(ops: GrantDMAOps(guest: system.guest, backend: backend.id), backend: backend, window: nil,
                                 longLived: [], grantBound: true)
            case .pool:
                let ops: GrantPoolDMAOps
                let pages = poolPages(for: kind)
                do throws(DMAError) {
                    ops = try GrantPoolDMAOps(guest: system.guest, backend: backend.id, pages: pages)
                } catch {
                    throw .machine("\(device.path): cannot grant a \(pages)-page pool: \(error)")
                }
                return DeviceDMA(ops: ops, backend: backend, window: nil,
                                 longLived: [LongLivedRegion(address: ops.poolAddress, length: ops.poolSize)], grantBound: true)
            }
        case .bounce(let path):
            let ops = try bounce(path, range: device.poolRange, for: device.path)
            return DeviceDMA(ops: ops, backend: try domain(override ?? .dom0, for: device.path), window: ops.pool,
                             longLived: [], grantBound: false)
        case .direct:
            return DeviceDMA(ops: DirectDMAOps(guest: system.guest), backend: try domain(override ?? .dom0, for: device.path),
                             window: nil, longLived: [], grantBound: false)
        case .iommu(let path):
            throw .tree("\(device.path): its iommus points at \(path), an IOMMU grantdt does not model; only xen,grant-dma is run")
        }
    }

    private func domain(_ id: DomainID, for path: String) throws(RunError) -> Domain {
        guard id < DomainID.firstReserved else {
            throw .tree("\(path): backend domid \(id.rawValue) is a reserved id, not a domain")
        }
        guard let domain = system.domain(id), domain.id != system.guest.id else {
            throw .options("\(path): no backend domain \(id.rawValue) in this run")
        }
        return domain
    }

    /// The bounce ops of a pool, made once per pool. A pool given by
    /// `size` only is placed in guest RAM as Linux places it at boot.
    private func bounce(_ path: String, range: AddressRange?, for device: String) throws(RunError) -> BounceDMAOps {
        if let existing = bouncePools[path] { return existing }
        let region: GuestRegion
        if let range {
            region = GuestRegion(base: GuestAddress(range.base), size: range.size)
        } else {
            guard let size = GuestRAM.poolSize(path, in: tree), size > 0 else {
                throw .tree("\(device): restricted-dma-pool \(path) has no usable reg or size")
            }
            let pages = XenPage.count(offset: 0, length: Int(clamping: size))
            do throws(PageAllocationError) {
                let first = try system.guest.pages.allocate(pages: pages)
                system.guest.pages.free(first, pages: pages)
                region = GuestRegion(base: first.address, size: UInt64(pages * XenPage.size))
            } catch {
                throw .tree("\(device): cannot place restricted-dma-pool \(path) of \(size) bytes in guest RAM: \(error)")
            }
        }
        do throws(DMAError) {
            let ops = try BounceDMAOps(guest: system.guest, pool: region)
            bouncePools[path] = ops
            return ops
        } catch {
            throw .tree("\(device): restricted-dma-pool \(path) at \(region) is not free, page-aligned guest RAM: \(error)")
        }
    }
}

extension DeviceDMA {
    /// DMA ops of `kind` for a device outside any tree (benchmarks, tests):
    /// grants to `grantBackend`, a bounce pool at `pool`, a grant pool of
    /// `poolPages`; non-grant devices served by dom0.
    static func standalone(
        _ kind: DMAKind, system: GuestSystem, grantBackend: DomainID, pool: GuestRegion, poolPages: Int
    ) throws(RunError) -> DeviceDMA {
        guard let backend = system.domain(grantBackend), let dom0 = system.domain(.dom0) else {
            throw .machine("no backend domain \(grantBackend)")
        }
        do throws(DMAError) {
            switch kind {
            case .grant:
                return DeviceDMA(ops: GrantDMAOps(guest: system.guest, backend: backend.id), backend: backend, window: nil,
                                 longLived: [], grantBound: true)
            case .grantPool:
                let ops = try GrantPoolDMAOps(guest: system.guest, backend: backend.id, pages: poolPages)
                return DeviceDMA(ops: ops, backend: backend, window: nil,
                                 longLived: [LongLivedRegion(address: ops.poolAddress, length: ops.poolSize)], grantBound: true)
            case .bounce:
                return DeviceDMA(ops: try BounceDMAOps(guest: system.guest, pool: pool), backend: dom0, window: pool,
                                 longLived: [], grantBound: false)
            case .direct:
                return DeviceDMA(ops: DirectDMAOps(guest: system.guest), backend: dom0, window: nil, longLived: [], grantBound: false)
            }
        } catch {
            throw .machine("cannot set up \(kind.rawValue) DMA ops: \(error)")
        }
    }
}
