import Glibc
import VirtioRuntime

/// Plain memcpy rates the virtio tables compare against, in requests of
/// `bytes` per second.
enum MemcpyBaseline {
    /// Successive chunks of the 8 MiB disk region copied into one
    /// destination buffer: the tables' first memcpy column, the one the
    /// earlier figures in BENCHMARKS.md use. Every copy reads the cold
    /// region and writes a buffer that stays in cache.
    static func oneDestination(bytes: Int, runs: Int) -> Double {
        let region = ThroughputProbe.region
        let source = filledBuffer(region)
        let destination = filledBuffer(bytes)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        let iterations = 100 * region / bytes
        var offset = 0
        let seconds = Measure.median(runs: runs) {
            for _ in 0..<iterations {
                memcpy(destination, source + offset, bytes)
                offset = (offset + bytes) % region
            }
        }
        return Double(iterations) / seconds
    }

    /// The copies the probe's requests make, with nothing else: reads
    /// (disk region into one of 8 request buffers, as at queue depth 8)
    /// and writes (a request buffer into the region) alternating, the
    /// region walked as `ThroughputProbe` walks it. Half the copies write
    /// into the cold region, which `oneDestination` never does; this is
    /// the same bytes moved between the same kinds of memory.
    static func sameCopies(bytes: Int, runs: Int) -> Double {
        let region = ThroughputProbe.region
        let disk = filledBuffer(region)
        let slots = filledBuffer(8 * bytes)
        defer {
            disk.deallocate()
            slots.deallocate()
        }
        let iterations = 100 * region / bytes
        var offset = 0
        let seconds = Measure.median(runs: runs) {
            for index in 0..<iterations {
                let slot = slots + index % 8 * bytes
                if index % 2 == 0 {
                    memcpy(slot, disk + offset, bytes)
                } else {
                    memcpy(disk + offset, slot, bytes)
                }
                offset = (offset + bytes) % region
            }
        }
        return Double(iterations) / seconds
    }

    private static func filledBuffer(_ bytes: Int) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: 0x5a, count: bytes)
        return buffer
    }
}
