import DeviceTree
import SystemIO
import VirtioRuntime

/// Issue 4's figures: `grantdt inspect --json` on guests of 1,000 and
/// 10,000 devices in nested buses, whole process, and how it grows.
enum BinderBench {
    static func run(scratch: String, grantdt: String) throws -> String {
        var report = "## VirtioRuntime: `grantdt inspect` (issue 4)\n\n"
        report += "| devices (buses of 500 under one soc bus) | blob | `grantdt inspect --json` (whole process) | per device | in process: read + bind + check | `dtc -I dtb -O dts` (for scale) |\n"
        report += "| --- | --- | --- | --- | --- | --- |\n"
        var times: [Double] = []
        for count in [1_000, 10_000] {
            let tree = Trees.guestBuses(count)
            let blob = try DTBWriter.write(tree)
            let path = scratch + "/guest-\(count).dtb"
            try FileSystem.writeAtomically(blob, to: path)
            // The tree must be clean, or the run would measure error reporting.
            let diagnostics = TreeChecks.run(Binder(tree: try DTBReader.read(blob)), file: path)
            guard diagnostics.isEmpty else { throw Spawn.Failure(description: "bench tree has \(diagnostics.count) diagnostics") }

            let whole = try Measure.median(runs: 7) {
                try Spawn.run([grantdt, "inspect", "--json", path])
            }
            let inProcess = try Measure.median(runs: 7) {
                let binder = Binder(tree: try DTBReader.read(blob))
                _ = TreeChecks.run(binder, file: path)
            }
            let dtc = try Measure.median(runs: 5) {
                try Spawn.run(["dtc", "-I", "dtb", "-O", "dts", "-o", scratch + "/dtc.dts", path])
            }
            times.append(whole)
            report += "| \(count) | \(blob.count / 1024) KiB | \(Format.seconds(whole)) | \(Format.seconds(whole / Double(count))) "
            report += "| \(Format.seconds(inProcess)) | \(Format.seconds(dtc)) |\n"
        }
        report += "\nWhole-process time at 10,000 devices over time at 1,000: **\(Format.fixed(times[1] / times[0], 2))×** "
        report += "for 10× the devices (the bound is 12×; 10× = linear).\n"
        return report
    }
}
