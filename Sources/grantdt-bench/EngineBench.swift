import Glibc
import GrantEngine

/// Issue 5's figures: the cost of grant bookkeeping per 4 KiB page against
/// copying the page, and the grant-pool path against per-request grants.
enum EngineBench {
    static let guestID = DomainID(1)
    static let backendID = DomainID(2)
    static let iterations = 20_000
    static let runs = 7

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(scratch: String, grantdt: String) throws -> String {
        let hypervisor = Hypervisor()
        let ram = GuestRegion(base: GuestAddress(0x4000_0000), size: 64 << 20)
        let guest = try hypervisor.createDomain(DomainSpec(id: guestID, memory: [ram]))
        let backend = try hypervisor.createDomain(DomainSpec(id: backendID, memory: [GuestRegion(base: ram.base, size: 1 << 20)]))
        let dom0 = try hypervisor.createDomain(DomainSpec(id: .dom0, memory: [GuestRegion(base: ram.base, size: 1 << 20)]))
        let page = try guest.pages.allocate(pages: 1)
        try guest.memory.fill(at: page.address, count: 4096, with: 0x5a)
        var scratchPage = [UInt8](repeating: 0, count: 4096)

        // 1. Bookkeeping per page, at the hypercall level.
        let bookkeeping = try perOperation {
            let ref = try guest.grants.grantForeignAccess(to: backendID, frame: page, access: .writable)
            let mapping = try backend.hypercalls.mapGrantRef(ref, of: guestID, access: .writable)
            try backend.hypercalls.unmapGrantRef(mapping.handle ?? MapHandle(0))
            guard guest.grants.tryEndForeignAccess(ref) else { throw Failure(description: "end of access failed") }
        }

        // 2. The data movement: raw memcpy, and through a mapped grant.
        let source = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        source.initializeMemory(as: UInt8.self, repeating: 1, count: 4096)
        var counter = 0
        let memcpyTime = try perOperation {
            memcpy(destination, source, 4096)
            counter &+= 1
            source.storeBytes(of: UInt8(truncatingIfNeeded: counter), toByteOffset: counter & 4095, as: UInt8.self)
        }
        // Byte 1 only ever holds 1 (source bytes k get k mod 256).
        guard destination.load(fromByteOffset: 1, as: UInt8.self) == 1 else { throw Failure(description: "copy did not happen") }
        // Fresh I/O data is rarely in cache: copy from and to a different
        // page of two 256 MiB buffers (8× the 32 MiB L3) each time.
        let coldBytes = 256 << 20
        let coldSource = UnsafeMutableRawPointer.allocate(byteCount: coldBytes, alignment: 4096)
        let coldDestination = UnsafeMutableRawPointer.allocate(byteCount: coldBytes, alignment: 4096)
        defer {
            coldSource.deallocate()
            coldDestination.deallocate()
        }
        coldSource.initializeMemory(as: UInt8.self, repeating: 2, count: coldBytes)
        coldDestination.initializeMemory(as: UInt8.self, repeating: 0, count: coldBytes)
        var coldPage = 0
        let coldMemcpy = try perOperation {
            // A stride of 61 pages defeats the hardware prefetcher.
            coldPage = (coldPage + 61) % (coldBytes / 4096)
            memcpy(coldDestination + coldPage * 4096, coldSource + coldPage * 4096, 4096)
        }
        guard coldDestination.load(fromByteOffset: coldPage * 4096, as: UInt8.self) == 2 else {
            throw Failure(description: "cold copy did not happen")
        }
        let heldRef = try guest.grants.grantForeignAccess(to: backendID, frame: page, access: .writable)
        let held = try backend.hypercalls.mapGrantRef(heldRef, of: guestID, access: .writable)
        let mappedCopy = try perOperation {
            try scratchPage.withUnsafeMutableBytes { buffer in try held.read(at: 0, into: buffer) }
        }
        guard scratchPage[100] == 0x5a else { throw Failure(description: "mapped read returned wrong bytes") }
        try backend.hypercalls.unmapGrantRef(held.handle ?? MapHandle(0))
        _ = guest.grants.tryEndForeignAccess(heldRef)

        // 3. One 4 KiB request end to end, per DMA ops.
        let buffer = try guest.pages.allocate(pages: 1).address
        try guest.memory.fill(at: buffer, count: 4096, with: 0x33)
        let grantOps = GrantDMAOps(guest: guest, backend: backendID)
        let grantAccessor = BackendAccessor(backend: backend, frontend: guestID)
        let pool = try GrantPoolDMAOps(guest: guest, backend: backendID, pages: 64)
        let poolAccessor = BackendAccessor(backend: backend, frontend: guestID)
        _ = try poolAccessor.mapLongLived(pool.poolAddress, length: pool.poolSize)
        let bounce = try BounceDMAOps(guest: guest, pool: GuestRegion(base: ram.base.advanced(by: 32 << 20), size: 4 << 20))
        let bounceAccessor = BackendAccessor(backend: dom0, frontend: guestID, foreignWindow: bounce.pool)
        let direct = DirectDMAOps(guest: guest)
        let directAccessor = BackendAccessor(backend: dom0, frontend: guestID)

        var rows: [(name: String, toDevice: Double, fromDevice: Double)] = []
        for (name, ops, accessor) in [
            ("grant (per-request grants, Linux grant DMA ops)", grantOps as any DMAOps, grantAccessor),
            ("grant pool (granted and mapped once, copy per request)", pool, poolAccessor),
            ("bounce (restricted DMA pool, privileged backend)", bounce, bounceAccessor),
            ("direct (foreign-mapped guest RAM, privileged backend)", direct, directAccessor),
        ] {
            let write = try perOperation { try request(ops, accessor, buffer, .toDevice, &scratchPage) }
            let read = try perOperation { try request(ops, accessor, buffer, .fromDevice, &scratchPage) }
            rows.append((name, write, read))
        }
        guard grantOps.statistics.grantsOutstanding == 0, !pool.isBroken else {
            throw Failure(description: "requests left grants behind")
        }

        var report = "## GrantEngine: grant bookkeeping and request paths (issue 5)\n\n"
        report += "\(iterations) operations per timed run, median of \(runs) runs.\n\n"
        report += "| per 4 KiB page | time | / hot memcpy | / cold memcpy |\n| --- | --- | --- | --- |\n"
        report += "| grant + map + unmap + end (guest allocates and writes the entry, backend maps and unmaps by handle, guest ends access and frees the ref) | \(ns(bookkeeping)) | \(Format.fixed(bookkeeping / memcpyTime, 2))× | \(Format.fixed(bookkeeping / coldMemcpy, 2))× |\n"
        report += "| copy 4 KiB with memcpy, cache-hot (the same two pages each time) | \(ns(memcpyTime)) | 1.00× | \(Format.fixed(memcpyTime / coldMemcpy, 2))× |\n"
        report += "| copy 4 KiB with memcpy, cold (a new page of two 256 MiB buffers each time) | \(ns(coldMemcpy)) | \(Format.fixed(coldMemcpy / memcpyTime, 2))× | 1.00× |\n"
        report += "| copy 4 KiB out of a mapped grant, cache-hot (`PageMapping.read`: liveness check under the frame lock + copy) | \(ns(mappedCopy)) | \(Format.fixed(mappedCopy / memcpyTime, 2))× | \(Format.fixed(mappedCopy / coldMemcpy, 2))× |\n\n"
        report += "One 4 KiB request, frontend map → backend map → backend reads (to-device) or writes (from-device) 4 KiB → backend unmap → frontend unmap:\n\n"
        report += "| DMA ops | to-device | from-device | speed-up over grant (to / from) |\n| --- | --- | --- | --- |\n"
        for row in rows {
            report += "| \(row.name) | \(ns(row.toDevice)) | \(ns(row.fromDevice)) | "
            report += "\(Format.fixed(rows[0].toDevice / row.toDevice, 2))× / \(Format.fixed(rows[0].fromDevice / row.fromDevice, 2))× |\n"
        }
        return report
    }

    /// One request through `ops` and the backend's `accessor`.
    private static func request(
        _ ops: any DMAOps, _ accessor: BackendAccessor, _ buffer: GuestAddress, _ direction: DMADirection, _ data: inout [UInt8]
    ) throws {
        let address = try ops.map(buffer, length: 4096, direction: direction)
        let mapping = try accessor.map(address, length: 4096, access: direction.deviceAccess)
        if direction == .toDevice {
            try data.withUnsafeMutableBytes { bytes in try mapping.read(at: 0, into: bytes) }
        } else {
            try data.withUnsafeBytes { bytes in try mapping.write(at: 0, from: bytes) }
        }
        accessor.unmap(mapping)
        try ops.unmap(address, length: 4096, direction: direction)
    }

    private static func ns(_ seconds: Double) -> String { "\(Int((seconds * 1e9).rounded())) ns" }

    /// Median time of one call of `body`.
    private static func perOperation(_ body: () throws -> Void) throws -> Double {
        try Measure.median(runs: runs) {
            for _ in 0..<iterations { try body() }
        } / Double(iterations)
    }
}
