import Dispatch
import Glibc
import Synchronization
import VirtioRuntime

/// The fastest two threads can serve the probe's workload when they do
/// nothing else: the guest thread publishes request numbers through an
/// atomic counter, the backend thread copies each request's bytes between
/// its slot and the 8 MiB disk region (writes and reads alternating, as in
/// `ThroughputProbe`) and publishes its progress. No ring in guest memory,
/// no descriptors, no mapping or checks, no sleeping: both threads spin.
///
/// The virtio path crosses the same two threads for every request, so it
/// cannot beat this figure on the same machine; it bounds what a goal
/// stated against a memcpy on one thread can ask of the design.
enum HandoverBound {
    static func requestsPerSecond(size: Int, depth: Int, requests: Int) -> Double {
        let memory = Memory(size: size, depth: depth)
        defer { memory.free() }
        let progress = Progress()
        let finished = DispatchSemaphore(value: 0)
        let start = Measure.now()
        DispatchQueue.global().async {
            for index in 0..<requests {
                while progress.submitted.load(ordering: .acquiring) <= index {}
                memory.serve(index)
                progress.completed.store(index + 1, ordering: .releasing)
            }
            finished.signal()
        }
        for index in 0..<requests {
            while index - progress.completed.load(ordering: .acquiring) >= depth {}
            progress.submitted.store(index + 1, ordering: .releasing)
        }
        finished.wait()
        return Double(requests) / (Measure.now() - start)
    }

    private final class Progress: Sendable {
        let submitted = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
    }

    /// The slots and the disk region; only the backend thread touches
    /// them while requests run.
    private struct Memory: @unchecked Sendable {
        let size: Int
        let depth: Int
        let disk: UnsafeMutableRawPointer
        let slots: UnsafeMutableRawPointer

        init(size: Int, depth: Int) {
            self.size = size
            self.depth = depth
            disk = .allocate(byteCount: ThroughputProbe.region, alignment: 4096)
            slots = .allocate(byteCount: size * depth, alignment: 4096)
            disk.initializeMemory(as: UInt8.self, repeating: 0, count: ThroughputProbe.region)
            slots.initializeMemory(as: UInt8.self, repeating: 0x5a, count: size * depth)
        }

        /// Request `index`: even ones write their slot to the disk, odd
        /// ones read the disk into their slot.
        func serve(_ index: Int) {
            let slot = slots + (index % depth) * size
            let place = disk + (index * size) % ThroughputProbe.region
            if index % 2 == 0 { memcpy(place, slot, size) } else { memcpy(slot, place, size) }
        }

        func free() {
            disk.deallocate()
            slots.deallocate()
        }
    }
}
