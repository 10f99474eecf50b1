import Glibc
import GrantEngine
import VirtioRuntime

/// The direct backend's data movement alone, on one thread: each request's
/// bytes copied between a foreign-mapped guest buffer (one of 8, as at
/// queue depth 8) and the 8 MiB disk region through `BufferMapping`'s
/// checked read and write, writes and reads alternating as in
/// `ThroughputProbe`. No ring, no second thread, no mapping per request.
///
/// Set against a plain memcpy of the same bytes it says how much of
/// "direct ≥ 0.5× memcpy" the copy itself uses up before any virtio work.
enum BackendCopyBound {
    static func requestsPerSecond(size: Int, runs: Int) throws -> Double {
        let hypervisor = Hypervisor()
        let ram = GuestRegion(base: GuestAddress(0x4000_0000), size: 64 << 20)
        let guest = try hypervisor.createDomain(DomainSpec(id: DomainID(1), memory: [ram]))
        let dom0 = try hypervisor.createDomain(DomainSpec(id: .dom0, memory: [GuestRegion(base: ram.base, size: 1 << 20)]))
        let accessor = BackendAccessor(backend: dom0, frontend: DomainID(1))
        let pages = (size + XenPage.size - 1) / XenPage.size
        var buffers: [BufferMapping] = []
        for slot in 0..<8 {
            let frame = try guest.pages.allocate(pages: pages)
            try guest.memory.fill(at: frame.address, count: size, with: UInt8(slot))
            buffers.append(try accessor.map(.guestPhysical(frame.address), length: size, access: .writable))
        }
        return try RegionWalk.requestsPerSecond(bytes: size, runs: runs) { disk, index in
            if index % 2 == 0 {
                try buffers[index % 8].write(at: 0, from: UnsafeRawBufferPointer(start: disk, count: size))
            } else {
                try buffers[index % 8].read(at: 0, into: UnsafeMutableRawBufferPointer(start: disk, count: size))
            }
        }
    }
}
