import Glibc
import GrantEngine
import VirtioRuntime

/// Issue 6's figures: requests per second through the whole virtio path
/// (guest driver, DMA ops, split virtqueue, backend worker thread,
/// in-memory virtio-blk) for each kind of DMA ops, against plain memcpy
/// baselines (`MemcpyBaseline`); the cost model per request; queue-depth
/// scaling.
enum VirtioBench {
    static let runs = 5
    static let modes: [(kind: DMAKind, name: String)] = [
        (.direct, "direct (foreign-mapped guest RAM, dom0 backend)"),
        (.grant, "grant per-request (Linux grant DMA ops)"),
        (.grantPool, "grant pool (granted and mapped once, copied)"),
        (.bounce, "bounce (restricted DMA pool, dom0 backend)"),
    ]
    static let sizes = [(bytes: 4096, requests: 20_000), (bytes: 65536, requests: 20_000)]

    /// The two memcpy rates a size's rows are divided by.
    struct Baselines {
        let oneDestination: Double
        let sameCopies: Double
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(scratch: String, grantdt: String) throws -> String {
        var report = "## VirtioRuntime: requests through the virtqueue (issue 6)\n\n"
        report += "Alternating 4 KiB or 64 KiB reads and writes of an in-memory disk, queue depth 8, "
        report += "median of \(runs) runs, each mode timed in turn in every round.\n\n"
        var costs: [String: CostModel] = [:]
        var baselines: [Int: Baselines] = [:]
        for size in sizes {
            let baseline = Baselines(
                oneDestination: MemcpyBaseline.oneDestination(bytes: size.bytes, runs: runs),
                sameCopies: MemcpyBaseline.sameCopies(bytes: size.bytes, runs: runs))
            baselines[size.bytes] = baseline
            let (rates, last) = try interleavedRates(modes.map { mode in
                { try ThroughputProbe.run(mode.kind, size: size.bytes, queueDepth: 8, requests: size.requests) }
            })
            for (index, mode) in modes.enumerated() where size.bytes == 4096 {
                costs[mode.name] = last[index]?.costs
            }
            report += "### \(size.bytes / 1024) KiB requests\n\n"
            report += "| DMA ops | requests/s | MB/s | / direct | / memcpy of the same bytes | / memcpy of the same copies |\n"
            report += "| --- | --- | --- | --- | --- | --- |\n"
            func row(_ name: String, _ rate: Double, direct: Bool = true) -> String {
                "| \(name) | \(Int(rate.rounded())) | \(Format.fixed(rate * Double(size.bytes) / 1e6, 0)) | "
                    + (direct ? "\(Format.fixed(rate / rates[0], 2))×" : "") + " | "
                    + "\(Format.fixed(rate / baseline.oneDestination, 3))× | \(Format.fixed(rate / baseline.sameCopies, 3))× |\n"
            }
            for (index, mode) in modes.enumerated() { report += row(mode.name, rates[index]) }
            report += row("memcpy of \(size.bytes / 1024) KiB, 8 MiB region into one buffer", baseline.oneDestination, direct: false)
            report += row("memcpy of the same copies (region into 8 buffers and back, alternating)", baseline.sameCopies, direct: false)
            let bound = handoverBound(size: size.bytes, requests: size.requests)
            report += row("bound: two spinning threads handing the buffers over and copying them, nothing else", bound)
            let copy = try BackendCopyBound.requestsPerSecond(size: size.bytes, runs: runs)
            report += row("bound: the direct backend's checked copies alone, one thread", copy) + "\n"
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
            report += try depthTable(size: size.bytes, requests: size.requests / 2, baseline: baselines[size.bytes])
        }
        return report
    }

    /// Requests per second at queue depths 1, 8 and 32 for direct and
    /// per-request grants, and direct's ratios to the memcpy baselines.
    private static func depthTable(size: Int, requests: Int, baseline: Baselines?) throws -> String {
        let depths = [1, 8, 32]
        var table = "| DMA ops | " + depths.map { "depth \($0)" }.joined(separator: " | ") + " |\n| --- |"
        table += String(repeating: " --- |", count: depths.count) + "\n"
        var directRates: [Double] = []
        for mode in modes where mode.kind == .direct || mode.kind == .grant {
            let (rates, _) = try interleavedRates(depths.map { depth in
                { try ThroughputProbe.run(mode.kind, size: size, queueDepth: depth, requests: requests) }
            })
            if mode.kind == .direct { directRates = rates }
            table += "| \(mode.name) | " + rates.map { "\(Int($0.rounded()))" }.joined(separator: " | ") + " |\n"
        }
        for (name, rate) in [("same bytes", baseline?.oneDestination), ("same copies", baseline?.sameCopies)] {
            table += "| direct / memcpy of the \(name) | "
            table += directRates.map { "\(Format.fixed($0 / (rate ?? .nan), 3))×" }.joined(separator: " | ") + " |\n"
        }
        return table
    }

    /// The probes timed in turn, round after round, after a warm-up round
    /// (as `Measure.interleavedMedians`): each one's median requests per
    /// second, and its last result.
    private static func interleavedRates(
        _ probes: [() throws -> ThroughputProbe.Result]
    ) throws -> (rates: [Double], last: [ThroughputProbe.Result?]) {
        var results = Array(repeating: [ThroughputProbe.Result](), count: probes.count)
        _ = try Measure.interleavedMedians(runs: runs, probes.enumerated().map { index, probe in
            { results[index].append(try probe()) }
        })
        let rates = results.map { median($0.dropFirst().map(\.requestsPerSecond)) }
        return (rates, results.map(\.last))
    }

    /// `HandoverBound`'s requests per second, median of `runs` after a
    /// warm-up run, at the probe's queue depth.
    private static func handoverBound(size: Int, requests: Int) -> Double {
        let rates = (0...runs).map { _ in HandoverBound.requestsPerSecond(size: size, depth: 8, requests: requests) }
        return median(rates.dropFirst())
    }

    private static func median<C: Collection<Double>>(_ values: C) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
