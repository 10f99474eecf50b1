import Glibc

/// Plain memcpy rates the virtio tables compare against, in requests of
/// `bytes` per second.
enum MemcpyBaseline {
    /// Successive chunks of the 8 MiB disk region copied into one
    /// destination buffer: the tables' first memcpy column, the one the
    /// earlier figures in BENCHMARKS.md use. Every copy reads the cold
    /// region and writes a buffer that stays in cache.
    static func oneDestination(bytes: Int, runs: Int) -> Double {
        let destination = filledBuffer(bytes)
        defer { destination.deallocate() }
        return RegionWalk.requestsPerSecond(bytes: bytes, runs: runs) { disk, _ in
            memcpy(destination, disk, bytes)
        }
    }

    /// The copies the probe's requests make, with nothing else: reads
    /// (disk region into one of 8 request buffers, as at queue depth 8)
    /// and writes (a request buffer into the region) alternating. Half the
    /// copies write into the cold region, which `oneDestination` never
    /// does; this is the same bytes moved between the same kinds of
    /// memory.
    static func sameCopies(bytes: Int, runs: Int) -> Double {
        let slots = filledBuffer(8 * bytes)
        defer { slots.deallocate() }
        return RegionWalk.requestsPerSecond(bytes: bytes, runs: runs) { disk, index in
            let slot = slots + index % 8 * bytes
            if index % 2 == 0 {
                memcpy(slot, disk, bytes)
            } else {
                memcpy(disk, slot, bytes)
            }
        }
    }

    private static func filledBuffer(_ bytes: Int) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: 0x5a, count: bytes)
        return buffer
    }
}
