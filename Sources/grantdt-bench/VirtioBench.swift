import Glibc
import GrantEngine
import VirtioRuntime

/// Issue 6's figures: requests per second through the whole virtio path
/// (guest driver, DMA ops, split virtqueue, backend worker thread,
/// in-memory virtio-blk) for each kind of DMA ops, against a plain memcpy
/// of the same bytes; the cost model per request; queue-depth scaling.
enum VirtioBench {
    static let runs = 5
    static let modes: [(kind: DMAKind, name: String)] = [
        (.direct, "direct (foreign-mapped guest RAM, dom0 backend)"),
        (.grant, "grant per-request (Linux grant DMA ops)"),
        (.grantPool, "grant pool (granted and mapped once, copied)"),
        (.bounce, "bounce (restricted DMA pool, dom0 backend)"),
    ]
    static let sizes = [(bytes: 4096, requests: 20_000), (bytes: 65536, requests: 20_000)]

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(scratch: String, grantdt: String) throws -> String {
        var report = "## VirtioRuntime: requests through the virtqueue (issue 6)\n\n"
        report += "Alternating 4 KiB or 64 KiB reads and writes of an in-memory disk, queue depth 8, "
        report += "median of \(runs) runs, each mode timed in turn in every round.\n\n"
        var costs: [String: CostModel] = [:]
        for size in sizes {
            var bodies: [() throws -> Void] = []
            var results = Array(repeating: [ThroughputProbe.Result](), count: modes.count)
            for (index, mode) in modes.enumerated() {
                bodies.append {
                    results[index].append(try ThroughputProbe.run(mode.kind, size: size.bytes, queueDepth: 8, requests: size.requests))
                }
            }
            let memcpyRate = 1 / memcpyTime(size.bytes)
            _ = try Measure.interleavedMedians(runs: runs, bodies)
            let rates = results.map { median($0.dropFirst().map(\.requestsPerSecond)) }
            for (index, mode) in modes.enumerated() where size.bytes == 4096 {
                costs[mode.name] = results[index].last?.costs
            }
            report += "### \(size.bytes / 1024) KiB requests\n\n"
            report += "| DMA ops | requests/s | MB/s | / direct | / memcpy of the same bytes |\n| --- | --- | --- | --- | --- |\n"
            for (index, mode) in modes.enumerated() {
                report += "| \(mode.name) | \(Int(rates[index].rounded())) | \(Format.fixed(rates[index] * Double(size.bytes) / 1e6, 0)) | "
                report += "\(Format.fixed(rates[index] / rates[0], 2))× | \(Format.fixed(rates[index] / memcpyRate, 3))× |\n"
            }
            report += "| memcpy of \(size.bytes / 1024) KiB (8 MiB working set) | \(Int(memcpyRate.rounded())) | "
            report += "\(Format.fixed(memcpyRate * Double(size.bytes) / 1e6, 0)) | | 1.000× |\n\n"
        }
        report += "### Cost model per 4 KiB request\n\n"
        report += "| DMA ops | grant entries | map ops | unmap ops | flush batches (32 unmaps) | bytes copied |\n| --- | --- | --- | --- | --- | --- |\n"
        for mode in modes {
            guard let model = costs[mode.name] else { continue }
            report += "| \(mode.name) | \(Format.fixed(model.grantOps, 2)) | \(Format.fixed(model.mapOps, 2)) | "
            report += "\(Format.fixed(model.unmapOps, 2)) | \(Format.fixed(model.flushBatches, 2)) | \(Format.fixed(model.bytesCopied, 0)) |\n"
        }
        for size in sizes {
            report += "\n### Queue depth (\(size.bytes / 1024) KiB, requests/s)\n\n"
            report += try depthTable(size: size.bytes, requests: size.requests / 2)
        }
        return report
    }

    /// Requests per second at queue depths 1, 8 and 32 for direct and
    /// per-request grants, and direct's ratio to a memcpy of the same bytes.
    private static func depthTable(size: Int, requests: Int) throws -> String {
        let depths = [1, 8, 32]
        var table = "| DMA ops | " + depths.map { "depth \($0)" }.joined(separator: " | ") + " |\n| --- |"
        table += String(repeating: " --- |", count: depths.count) + "\n"
        let memcpyRate = 1 / memcpyTime(size)
        var directRates: [Double] = []
        for mode in modes where mode.kind == .direct || mode.kind == .grant {
            var results = Array(repeating: [ThroughputProbe.Result](), count: depths.count)
            let bodies: [() throws -> Void] = depths.enumerated().map { index, depth in
                { results[index].append(try ThroughputProbe.run(mode.kind, size: size, queueDepth: depth, requests: requests)) }
            }
            _ = try Measure.interleavedMedians(runs: runs, bodies)
            let rates = results.map { median($0.dropFirst().map(\.requestsPerSecond)) }
            if mode.kind == .direct { directRates = rates }
            table += "| \(mode.name) | " + rates.map { "\(Int($0.rounded()))" }.joined(separator: " | ") + " |\n"
        }
        table += "| direct / memcpy of the same bytes | " + directRates.map { "\(Format.fixed($0 / memcpyRate, 3))×" }.joined(separator: " | ") + " |\n"
        return table
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    /// Seconds per memcpy of `bytes`, copying successive chunks of an 8 MiB
    /// buffer into one destination (the probe's disk region and slot).
    private static func memcpyTime(_ bytes: Int) -> Double {
        let region = ThroughputProbe.region
        let source = UnsafeMutableRawPointer.allocate(byteCount: region, alignment: 4096)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        source.initializeMemory(as: UInt8.self, repeating: 0x5a, count: region)
        let iterations = 100 * region / bytes
        var offset = 0
        let seconds = Measure.median(runs: runs) {
            for _ in 0..<iterations {
                memcpy(destination, source + offset, bytes)
                offset = (offset + bytes) % region
            }
        }
        return seconds / Double(iterations)
    }
}
