import DeviceTree
import Glibc
import GuestLayout
import SystemIO
import XLConfig

/// Issue 3's figures: `grantdt compile` of the 11-device example against
/// `dtc` assembling the same guest's DTS (whole process, wall time and
/// instructions), and 1,000 guests in one `--out-dir` call against 1,000
/// dtc runs on their DTS. Run from the repository root (`make bench`).
enum CompileBench {
    static let example = "examples/eleven-devices.cfg"
    static let guestCount = 1_000

    static func run(scratch: String, grantdt: String) throws -> String {
        guard FileSystem.exists(example) else { throw Spawn.Failure(description: "\(example) not found: run from the repository root") }
        let dts = scratch + "/eleven.dts"
        try Spawn.run([grantdt, "compile", example, "-o", scratch + "/eleven.dtb", "--dts", dts])

        // 1. One guest, whole process, interleaved so load hits both alike.
        let single = try Measure.interleavedMedians(runs: 301, [
            { try Spawn.run([grantdt, "compile", example, "-o", scratch + "/ours.dtb"]) },
            { try Spawn.run(["dtc", "-I", "dts", "-O", "dtb", "-o", scratch + "/dtc.dtb", dts]) },
        ])
        let instructions = try [
            callgrind([grantdt, "compile", example, "-o", scratch + "/ours.dtb"], scratch: scratch),
            callgrind([grantdt, "decompile", scratch + "/eleven.dtb", "-o", scratch + "/ours.dts"], scratch: scratch),
            callgrind(["dtc", "-I", "dts", "-O", "dtb", "-o", scratch + "/dtc.dtb", dts], scratch: scratch),
        ]

        // 2. 1,000 guests: one process against one dtc run per guest.
        let (configs, sources) = try writeGuests(scratch: scratch)
        let outDir = scratch + "/out"
        let many = try Measure.median(runs: 5) {
            try Spawn.run([grantdt, "compile"] + configs + ["--out-dir", outDir])
        }
        // The same guests given as their directory: no quadratic argument parsing.
        let manyByDirectory = try Measure.median(runs: 5) {
            try Spawn.run([grantdt, "compile", scratch + "/guests", "--out-dir", outDir])
        }
        let dtcMany = try Measure.median(runs: 3) {
            for (index, source) in sources.enumerated() {
                try Spawn.run(["dtc", "-I", "dts", "-O", "dtb", "-o", scratch + "/dtc/\(index).dtb", source])
            }
        }
        // The two sides built the same trees (libfdt and dtc lay blobs out apart).
        for index in 0..<guestCount {
            let ours = try DTBReader.read(try FileSystem.readFile(outDir + "/guest-\(index).dtb"))
            guard try ours == DTBReader.read(try FileSystem.readFile(scratch + "/dtc/\(index).dtb")) else {
                throw Spawn.Failure(description: "guest \(index): grantdt and dtc built different trees")
            }
        }

        var report = "## Compiler: `grantdt compile` (issue 3)\n\n"
        report += "| measurement | grantdt | dtc 1.6.1 | grantdt / dtc |\n| --- | --- | --- | --- |\n"
        report += "| whole process, 11-device guest (`grantdt compile \(example) -o …` vs `dtc -I dts -O dtb` of its DTS), median of 301 | "
        report += "\(Format.seconds(single[0])) | \(Format.seconds(single[1])) | **\(Format.fixed(single[0] / single[1], 2))×** |\n"
        if let ours = instructions[0], let dtc = instructions[2] {
            report += "| instructions, same runs (callgrind) | \(Format.millions(ours)) | \(Format.millions(dtc)) | \(Format.fixed(Double(ours) / Double(dtc), 2))× |\n"
        }
        report += "| \(guestCount) guests: one `grantdt compile … --out-dir` against \(guestCount) dtc runs on their DTS | "
        report += "\(Format.seconds(many)) | \(Format.seconds(dtcMany)) | **\(Format.fixed(dtcMany / many, 1))× faster** |\n"
        report += "| the same, the configs given as their directory (`grantdt compile DIR --out-dir …`) | "
        report += "\(Format.seconds(manyByDirectory)) | \(Format.seconds(dtcMany)) | \(Format.fixed(dtcMany / manyByDirectory, 1))× faster |\n"
        if let decompile = instructions[1] {
            report += "\nFor scale: `grantdt decompile` of the same guest's blob, \(Format.millions(decompile)) instructions (start-up and argument parsing).\n"
        }
        return report
    }

    /// Instructions of one run under callgrind, or nil without valgrind.
    static func callgrind(_ arguments: [String], scratch: String) throws -> Int? {
        guard access("/usr/bin/valgrind", X_OK) == 0 else { return nil }
        let out = scratch + "/callgrind.out"
        try Spawn.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + arguments)
        let text = String(decoding: try FileSystem.readFile(out), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("summary:") || $0.hasPrefix("totals:") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    /// `guestCount` configs of every shape the examples have (0–4 disks,
    /// 0–7 `virtio=` devices, backends 0–3, vuart, 1–4 vCPUs, 256 MiB to
    /// 2 GiB), and each one's labelled DTS, made in process.
    static func writeGuests(scratch: String) throws -> (configs: [String], sources: [String]) {
        try FileSystem.makeDirectory(scratch + "/guests")
        try FileSystem.makeDirectory(scratch + "/dtc")
        let types = ["virtio,device1", "virtio,device22", "virtio,device29", "virtio,device1a", "virtio,device4", "virtio,device13"]
        var configs: [String] = [], sources: [String] = []
        for index in 0..<guestCount {
            var text = "name = \"guest-\(index)\"\nmemory = \(256 << (index % 4))\nvcpus = \(1 + index % 4)\n"
            text += "kernel = \"/var/lib/xen/images/guest-\(index)/Image\"\ncmdline = \"console=hvc0 root=/dev/vda\"\n"
            if index % 3 == 0 { text += "vuart = \"sbsa_uart\"\n" }
            let disks = (0..<(index % 5)).map { disk in
                "'backend=\(1 + (index + disk) % 3), specification=virtio, vdev=xvd\(Character(Unicode.Scalar(97 + disk)!)), target=/dev/vg/g\(index)-\(disk)'"
            }
            if !disks.isEmpty { text += "disk = [ " + disks.joined(separator: ",\n         ") + " ]\n" }
            let devices = (0..<((index / 5) % 8)).map { device in
                "'backend=\((index + device) % 4), type=\(types[(index + device) % types.count]), transport=mmio'"
            }
            if !devices.isEmpty { text += "virtio = [ " + devices.joined(separator: ",\n           ") + " ]\n" }
            let config = scratch + "/guests/guest-\(index).cfg"
            try FileSystem.writeAtomically(Array(text.utf8), to: config)
            let read = XLConfigReader.read(file: config, text: Array(text.utf8), options: XLOptions())
            guard let guest = read.guest, let tree = GuestLayoutBuilder.compile(guest, options: LayoutOptions()).tree else {
                throw Spawn.Failure(description: "bench guest \(index) does not compile")
            }
            let source = scratch + "/guests/guest-\(index).dts"
            try FileSystem.writeAtomically(Array(DTSPrinter.print(tree).utf8), to: source)
            configs.append(config)
            sources.append(source)
        }
        return (configs, sources)
    }
}
