import DeviceTree
import SystemIO
import VirtioRuntime

/// Issue 4's figures: `grantdt inspect --json` on guests of 1,000 and
/// 10,000 devices in nested buses (and 40,000 to show the trend), whole
/// process, and how it grows.
enum BinderBench {
    static let sizes = [1_000, 10_000, 40_000]

    static func run(scratch: String, grantdt: String) throws -> String {
        var blobs: [[UInt8]] = []
        var paths: [String] = []
        for count in sizes {
            let blob = try DTBWriter.write(Trees.guestBuses(count))
            let path = scratch + "/guest-\(count).dtb"
            try FileSystem.writeAtomically(blob, to: path)
            // The tree must be clean, or the run would measure error reporting.
            let diagnostics = TreeChecks.run(Binder(tree: try DTBReader.read(blob)), file: path)
            guard diagnostics.isEmpty else { throw Spawn.Failure(description: "bench tree has \(diagnostics.count) diagnostics") }
            blobs.append(blob)
            paths.append(path)
        }
        // Sizes alternate within each round, so machine load hits them alike.
        let whole = try Measure.interleavedMedians(runs: 9, paths.map { path in { try Spawn.run([grantdt, "inspect", "--json", path]) } })
        let inProcess = try Measure.interleavedMedians(runs: 9, blobs.map { blob in
            { _ = TreeChecks.run(Binder(tree: try DTBReader.read(blob)), file: "guest.dtb") }
        })
        let dtc = try Measure.interleavedMedians(runs: 5, paths.map { path in
            { try Spawn.run(["dtc", "-I", "dtb", "-O", "dts", "-o", scratch + "/dtc.dts", path]) }
        })

        var report = "## VirtioRuntime: `grantdt inspect` (issue 4)\n\n"
        report += "| devices (buses of 500 under one soc bus) | blob | `grantdt inspect --json` (whole process) | per device "
        report += "| in process: read + bind + check | `dtc -I dtb -O dts` (for scale) |\n"
        report += "| --- | --- | --- | --- | --- | --- |\n"
        for (index, count) in sizes.enumerated() {
            report += "| \(count) | \(blobs[index].count / 1024) KiB | \(Format.seconds(whole[index])) "
            report += "| \(Format.seconds(whole[index] / Double(count))) | \(Format.seconds(inProcess[index])) | \(Format.seconds(dtc[index])) |\n"
        }
        report += "\nWhole-process time at 10,000 devices over time at 1,000: **\(Format.fixed(whole[1] / whole[0], 2))×** "
        report += "for 10× the devices (the bound is 12×; 10× = linear). In process: \(Format.fixed(inProcess[1] / inProcess[0], 2))×.\n"
        return report
    }
}
