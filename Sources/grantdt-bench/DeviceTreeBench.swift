import DeviceTree
import SystemIO

/// Issue 2's figures: DTB write+read against dtc, and linear growth.
enum DeviceTreeBench {
    static func run(scratch: String, grantdt: String) throws -> String {
        var report = "## DeviceTree: DTB write + read\n\n"

        // 1. 8,000 siblings: our write+read (in process) against dtc
        //    compiling our DTS and decompiling the blob (two processes).
        let tree = Trees.siblings(8000)
        let dts = scratch + "/siblings-8000.dts"
        let dtb = scratch + "/siblings-8000.dtb"
        try FileSystem.writeAtomically(Array(DTSPrinter.print(tree).utf8), to: dts)
        try FileSystem.writeAtomically(try DTBWriter.write(tree), to: dtb)
        let ours = try Measure.median(runs: 7) {
            let blob = try DTBWriter.write(tree)
            _ = try DTBReader.read(blob)
        }
        let dtc = try Measure.median(runs: 5) {
            try Spawn.run(["dtc", "-I", "dts", "-O", "dtb", "-o", scratch + "/dtc.dtb", dts])
            try Spawn.run(["dtc", "-I", "dtb", "-O", "dts", "-o", scratch + "/dtc.dts", scratch + "/dtc.dtb"])
        }
        let decompileOurs = try Measure.median(runs: 7) {
            try Spawn.run([grantdt, "decompile", dtb, "-o", scratch + "/ours.dts"])
        }
        let decompileDtc = try Measure.median(runs: 7) {
            try Spawn.run(["dtc", "-I", "dtb", "-O", "dts", "-o", scratch + "/dtc.dts", dtb])
        }
        report += "| measurement (8,000 sibling virtio nodes) | grantdt | dtc 1.6.1 | dtc / grantdt |\n"
        report += "| --- | --- | --- | --- |\n"
        report += "| write + read (grantdt in process; dtc dts→dtb→dts, two processes) | \(Format.seconds(ours)) | \(Format.seconds(dtc)) | \(Format.fixed(dtc / ours, 1))× |\n"
        report += "| whole process: DTB → DTS file (`grantdt decompile` vs `dtc -I dtb -O dts`) | \(Format.seconds(decompileOurs)) | \(Format.seconds(decompileDtc)) | \(Format.fixed(decompileDtc / decompileOurs, 1))× |\n\n"

        // 2. Growth: 10,000 and 100,000 nodes on buses of 1,000.
        report += "| nodes (buses of 1,000) | write + read | per node |\n| --- | --- | --- |\n"
        var perNode: [Double] = []
        for count in [10_000, 100_000] {
            let tree = Trees.nested(count)
            let time = try Measure.median(runs: 5) {
                let blob = try DTBWriter.write(tree)
                _ = try DTBReader.read(blob)
            }
            perNode.append(time / Double(count))
            report += "| \(count) | \(Format.seconds(time)) | \(Format.seconds(time / Double(count))) |\n"
        }
        report += "\nTime per node at 100,000 over time per node at 10,000: \(Format.fixed(perNode[1] / perNode[0], 2)) (1.00 = linear).\n"
        return report
    }
}
