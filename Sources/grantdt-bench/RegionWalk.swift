import VirtioRuntime

/// The walk `ThroughputProbe`'s requests make over its disk region, timed
/// with nothing else: request `index` copies `bytes` to or from the region
/// at the next offset, a hundred passes over the region per timed run.
/// The memcpy baselines and the checked-copy bound differ only in that
/// copy.
enum RegionWalk {
    /// Requests per second, median of `runs` timed walks after an untimed
    /// one. `copy` gets the region at the request's offset and the
    /// request's index (reads are the even ones in the probe).
    ///
    /// Always inlined, so each caller's `copy` is compiled into its loop
    /// rather than called through a closure per request.
    @inline(__always)
    static func requestsPerSecond(bytes: Int, runs: Int, _ copy: (UnsafeMutableRawPointer, Int) throws -> Void) rethrows -> Double {
        let region = ThroughputProbe.region
        let disk = UnsafeMutableRawPointer.allocate(byteCount: region, alignment: 4096)
        defer { disk.deallocate() }
        disk.initializeMemory(as: UInt8.self, repeating: 0x5a, count: region)
        let requests = 100 * region / bytes
        var offset = 0
        let seconds = try Measure.median(runs: runs) {
            for index in 0..<requests {
                try copy(disk + offset, index)
                offset = (offset + bytes) % region
            }
        }
        return Double(requests) / seconds
    }
}
