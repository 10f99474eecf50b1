import Glibc
import GrantEngine

/// Requests per second through the whole path — guest driver, DMA ops,
/// virtqueue, backend worker thread, `BackendAccessor`, in-memory
/// virtio-blk — for the benchmark executable. Unlike `VirtioRun` it does
/// not generate or check data per request (that would dominate the time);
/// it alternates reads and writes of one fixed size over an 8 MiB region.
public enum ThroughputProbe {
    public struct Result: Hashable, Sendable {
        public let requests: Int
        public let seconds: Double
        /// Per request, as in `grantdt run`'s report.
        public let costs: CostModel

        public var requestsPerSecond: Double { Double(requests) / seconds }
    }

    /// The disk region the requests cycle through.
    public static let region = 8 << 20

    /// Runs `requests` requests of `size` bytes with `queueDepth` in
    /// flight, after `warmUp` untimed ones.
    public static func run(_ kind: DMAKind, size: Int, queueDepth: Int, requests: Int, warmUp: Int = 200) throws(RunError) -> Result {
        let ram = GuestRegion(base: GuestAddress(0x4000_0000), size: 256 << 20)
        let system = try GuestSystem(ram: [ram], backendIDs: [DomainID(1)])
        let poolPages = queueDepth * (XenPage.count(offset: 0, length: size) + 2) + 8
        let pool = GuestRegion(base: GuestAddress(0x4c00_0000), size: 32 << 20)
        let dma = try DeviceDMA.standalone(kind, system: system, grantBackend: DomainID(1), pool: pool, poolPages: poolPages)
        let image: DiskImage
        do throws(DiskError) { image = try DiskImage.open(.memory(bytes: region)) } catch { throw .disk(error) }
        let session = try DeviceSession(
            path: "/virtio@2000000", kind: .block, system: system, dma: dma, image: image, queueDepth: queueDepth, maxRequest: size)
        defer { _ = session.finish() }
        do throws(DriverError) { try session.bringUp() } catch { throw .machine("bring-up: \(error)") }
        var loop = Loop(session: session, size: size)
        do throws(RequestError) {
            try loop.run(warmUp)
            let before = CostCounters(dma.ops.statistics, session.accessor.statistics)
            let start = now()
            try loop.run(requests)
            let seconds = now() - start
            let costs = CostCounters(dma.ops.statistics, session.accessor.statistics).costs(since: before, requests: requests)
            return Result(requests: requests, seconds: seconds, costs: costs)
        } catch {
            throw .machine("\(kind.rawValue) \(size) B: \(error)")
        }
    }

    /// The submit/reap loop, one request per slot.
    private struct Loop {
        let session: DeviceSession
        let size: Int
        var next = 0

        init(session: DeviceSession, size: Int) {
            self.session = session
            self.size = size
            for slot in session.slots.slots {
                try? session.system.guest.memory.fill(at: slot.dataA, count: size, with: 0x5a)
            }
        }

        mutating func run(_ count: Int) throws(RequestError) {
            guard let requests = session.requests else { throw .stalled("the device is not up") }
            var free = Array(0..<session.slots.slots.count)
            var submitted = 0
            var completed = 0
            while completed < count {
                while submitted < count, let slot = free.last {
                    guard try requests.submit(buffers(slot), token: slot) else { break }
                    free.removeLast()
                    submitted += 1
                }
                try requests.kick()
                for completion in try requests.waitForCompletions() {
                    let status = session.slots.slots[completion.token].control.advanced(by: RequestSlot.statusOffset)
                    guard (try? session.system.guest.memory.load(UInt8.self, at: status)) == BlockProtocol.Status.ok.rawValue else {
                        throw .failed("a request completed without status OK")
                    }
                    free.append(completion.token)
                    completed += 1
                }
            }
        }

        /// Header (alternating IN and OUT, sectors cycling through the
        /// region), data, status.
        private mutating func buffers(_ index: Int) -> [RequestBuffer] {
            let slot = session.slots.slots[index]
            let write = next % 2 == 1
            let sector = UInt64(next * size % ThroughputProbe.region / BlockProtocol.sectorSize)
            next += 1
            let type = write ? BlockProtocol.RequestType.write : .read
            try? session.system.guest.memory.write(at: slot.control, bytes: BlockProtocol.header(type: type.rawValue, sector: sector))
            return [
                RequestBuffer(address: slot.control, length: BlockProtocol.headerSize, direction: .toDevice),
                RequestBuffer(address: slot.dataA, length: size, direction: write ? .toDevice : .fromDevice),
                RequestBuffer(address: slot.control.advanced(by: RequestSlot.statusOffset), length: 1, direction: .fromDevice),
            ]
        }
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
