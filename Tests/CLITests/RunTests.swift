import Foundation
import Testing
import TestSupport

/// `grantdt run`: the report table, the JSON contract, hostile runs, disk
/// images, and the exit codes (0 verified and nothing leaked, 1 failures
/// or tree errors, 2 usage and unreadable input).
@Suite struct RunTests {
    /// A granted disk, a bounce-buffered disk, a direct disk, and an i2c
    /// device (loopback) served by domain 2.
    static let guest = GuestDTS.source([.grant(1), .bounce, .direct, .i2c(2)])

    /// Only grant-bound devices.
    static let granted = GuestDTS.source([.grant(1), .grant(3), .grant(1), .i2c(2)])

    private func write(_ source: String, _ directory: TemporaryDirectory) throws -> String {
        try directory.write("guest.dtb", DTC.compile(source).blob)
    }

    private func json(_ result: ToolResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
    }

    @Test func textReport() throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["run", try write(Self.guest, directory), "--requests", "40", "--request-size", "4096"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].split(separator: " ", omittingEmptySubsequences: true)
            == ["DEVICE", "KIND", "DMA", "BACKEND", "REQUESTS", "BYTES", "VERIFIED", "GRANTS-OUT", "REFUSED"])
        let first = lines[1].split(separator: " ").map(String.init)
        #expect(first.count == 9 && first[..<5] == ["/virtio@2000000", "virtio-blk", "grant", "1", "40"])
        #expect(first[6...] == ["yes", "0", "0"])
        #expect(lines[2].contains("bounce") && lines[2].contains("d0*"))
        #expect(lines[4].contains("loopback") && lines[4].contains(" 2 "))
        #expect(result.stdoutText.contains("per request:\nDEVICE           GRANT-OPS  MAPS  UNMAPS  FLUSHES  BYTES-COPIED\n"))
        #expect(result.stdoutText.hasSuffix("\nok\n"))
    }

    @Test func jsonContract() throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["run", try write(Self.guest, directory), "--requests", "30", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let root = try json(result)
        #expect(Set(root.keys) == ["ok", "devices"])
        #expect(root["ok"] as? Bool == true)
        let devices = try #require(root["devices"] as? [[String: Any]])
        #expect(devices.map { $0["dma"] as? String } == ["grant", "bounce", "direct", "grant"])
        #expect(devices.map { $0["backend"] as? Int } == [1, nil, nil, 2])
        for device in devices {
            #expect(Set(device.keys) == ["path", "dma", "backend", "requests", "bytes", "verified", "grants_outstanding", "refused", "costs"])
            #expect(device["requests"] as? Int == 30 && device["verified"] as? Bool == true)
            #expect(device["grants_outstanding"] as? Int == 0 && device["refused"] as? Int == 0)
            let costs = try #require(device["costs"] as? [String: Any])
            #expect(Set(costs.keys) == ["grant_ops", "map_ops", "unmap_ops", "flush_batches", "bytes_copied"])
        }
        // Keys in the documented order.
        let text = result.stdoutText
        let order = ["\"ok\"", "\"devices\"", "\"path\"", "\"dma\"", "\"backend\"", "\"requests\"", "\"bytes\"", "\"verified\"",
                     "\"grants_outstanding\"", "\"refused\"", "\"costs\"", "\"grant_ops\"", "\"map_ops\"", "\"unmap_ops\"",
                     "\"flush_batches\"", "\"bytes_copied\""]
        let positions = order.compactMap { text.range(of: $0)?.lowerBound }
        #expect(positions.count == order.count && positions == positions.sorted())
    }

    @Test func hostileJSON() throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["run", try write(Self.granted, directory), "--requests", "20", "--hostile", "--json"])
        #expect(result.status == 0, "\(result.stdoutText)")
        let root = try json(result)
        #expect(Array(root.keys).sorted() == ["attacks", "devices", "ok"])
        let attacks = try #require(root["attacks"] as? [[String: Any]])
        #expect(attacks.count == 4 * 9)
        #expect(attacks.prefix(9).map { $0["attack"] as? String } == [
            "map-ungranted", "map-other-domain", "write-readonly", "map-after-end", "reuse-handle", "forge-gpa", "guess-refs",
            "hold-mapping", "read-outside-buffer",
        ])
        for attack in attacks {
            #expect(Set(attack.keys) == ["device", "attack", "outcome", "status", "status_name"])
            #expect(["refused", "contained"].contains(attack["outcome"] as? String))
        }
        #expect(attacks[0]["status"] as? Int == -1 && attacks[0]["status_name"] as? String == "GNTST_general_error")
        #expect(attacks[5]["status"] is NSNull && attacks[5]["status_name"] as? String == "EPERM")
    }

    /// Direct and bounce backends reach what they were never given; the
    /// run only reports it (no grant-bound device failed), so exit 0.
    @Test func hostileTextShowsWhatDirectBackendsReach() throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["run", try write(Self.guest, directory), "--requests", "10", "--hostile"])
        #expect(result.status == 0)
        #expect(result.stdoutText.contains("/virtio@2000400  forge-gpa            succeeded"))
        #expect(result.stdoutText.contains("/virtio@2000000  forge-gpa            refused    EPERM"))
        #expect(result.stdoutText.contains("what each attack tried:\n"))
    }

    /// A grant-bound device served by dom0 is not confined: exit 1.
    @Test func hostileDom0GrantBackendFails() throws {
        let directory = try TemporaryDirectory()
        let dom0 = GuestDTS.source([.grant(1), .grant(3), .grant(0), .i2c(2)])
        let result = try Tool.grantdt(["run", try write(dom0, directory), "--requests", "10", "--hostile", "--json"])
        #expect(result.status == 1)
        #expect(try json(result)["ok"] as? Bool == false)
    }

    /// --disk: the image is used in place and keeps what was written.
    @Test func diskImagesInTreeOrder() throws {
        let directory = try TemporaryDirectory()
        let first = try directory.write("a.img", [UInt8](repeating: 0, count: 1 << 20))
        let result = try Tool.grantdt(["run", try write(Self.guest, directory), "--requests", "30", "--disk", first, "--disk", "memory"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(directory.read("a.img")?.contains { $0 != 0 } == true)
        #expect(directory.read("a.img")?.count == 1 << 20)
    }

    /// A read-only image: a clear error before anything runs; the image
    /// is untouched.
    @Test func readOnlyImage() throws {
        let directory = try TemporaryDirectory()
        let image = try directory.write("ro.img", [UInt8](repeating: 0x11, count: 1 << 20))
        chmod(image, 0o444)
        let tree = try write(Self.guest, directory)
        let result: ToolResult
        if getuid() == 0 {
            // Root may open any file for writing: run as nobody then, from a
            // copy of the binary beside the image, because the build
            // directory may sit under a directory nobody cannot enter.
            let binary = directory.file("grantdt")
            try FileManager.default.copyItem(atPath: Paths.grantdt, toPath: binary)
            chmod(directory.path, 0o755)
            chmod(tree, 0o644)
            let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"]
            let probe = try Tool.run("setpriv", nobody + ["test", "-x", binary, "-a", "-r", tree, "-a", "-r", image])
            try #require(probe.status == 0, "nobody cannot reach \(directory.path); the system temporary directory must be world-searchable")
            result = try Tool.run("setpriv", nobody + [binary, "run", tree, "--requests", "5", "--disk", image])
        } else {
            result = try Tool.grantdt(["run", tree, "--requests", "5", "--disk", image])
        }
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "grantdt: error: disk image '\(image)' is read-only (Permission denied): the workload writes to it; make it writable or give a copy\n")
        #expect(directory.read("ro.img") == [UInt8](repeating: 0x11, count: 1 << 20))
    }

    /// A disk that fills up (here a file-size limit): the writes past it
    /// fail with a clear message and exit 1; every read of what was
    /// written before still verifies — nothing is lost.
    @Test func fullDisk() throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("full.img")
        _ = FileManager.default.createFile(atPath: image, contents: nil)
        #expect(truncate(image, 16 << 20) == 0)
        let tree = try write(Self.guest, directory)
        // dash counts ulimit -f in 512-byte blocks: writes beyond 2 MiB
        // fail. The other disks are in memory (no file to limit).
        let result = try Tool.run("sh", ["-c", "ulimit -f 4096; exec \"$0\" \"$@\"", Paths.grantdt, "run", tree, "--requests", "200",
                                         "--disk", image, "--disk", "memory", "--disk", "memory", "--json"])
        #expect(result.status == 1)
        let root = try json(result)
        #expect(root["ok"] as? Bool == false)
        let devices = try #require(root["devices"] as? [[String: Any]])
        #expect(devices[0]["verified"] as? Bool == false)
        #expect(devices[1...].allSatisfy { $0["verified"] as? Bool == true })
        #expect(result.stderr.contains("status IOERR: write of "))
        #expect(result.stderr.contains("File too large (out of space: this write did not complete; earlier writes are unaffected)"))
        #expect(!result.stderr.contains("does not hold what was written"))
    }

    @Test(arguments: [
        (["--requests", "0"], "--requests must be at least 1"),
        (["--queue-depth", "0"], "--queue-depth must be between 1 and 256"),
        (["--request-size", "1000"], "--request-size must be a multiple of 512 from 512 to 262144"),
        (["--grant-mode", "cached"], "--grant-mode must be per-request or pool, not 'cached'"),
        (["--disk", "memory", "--disk", "memory", "--disk", "memory", "--disk", "memory"],
         "--disk is given 4 times but the tree has 3 virtio-blk devices"),
    ])
    func usageErrors(arguments: [String], message: String) throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["run", try write(Self.guest, directory)] + arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "grantdt: error: \(message)\n")
    }

    @Test func unreadableInputs() throws {
        let directory = try TemporaryDirectory()
        var result = try Tool.grantdt(["run", directory.file("missing.dtb")])
        #expect(result.status == 2 && result.stdout.isEmpty && result.stderr.contains("missing.dtb"))
        result = try Tool.grantdt(["run", try write(Self.guest, directory), "--disk", directory.file("none.img")])
        #expect(result.status == 2 && result.stdout.isEmpty)
        #expect(result.stderr == "grantdt: error: cannot open disk image '\(directory.file("none.img"))': No such file or directory\n")
        result = try Tool.grantdt(["run", directory.file("missing.cfg")])
        #expect(result.status == 2 && result.stdout.isEmpty && result.stderr.contains("missing.cfg"))
    }

    /// A tree with errors is not run: exit 1, the diagnostics on stderr or
    /// in the JSON.
    @Test func treeErrorsAreNotRun() throws {
        let directory = try TemporaryDirectory()
        let dangling = Self.guest.replacingOccurrences(of: "iommus = <&xen_iommu 1>;", with: "iommus = <0x4242 1>;")
        let path = try write(dangling, directory)
        var result = try Tool.grantdt(["run", path])
        #expect(result.status == 1 && result.stdout.isEmpty)
        #expect(result.stderr.contains("error[DT-IOMMUS-DANGLING]"))
        result = try Tool.grantdt(["run", path, "--json"])
        #expect(result.status == 1)
        let root = try json(result)
        #expect(root["ok"] as? Bool == false && (root["devices"] as? [Any])?.isEmpty == true)
        #expect(((root["diagnostics"] as? [[String: Any]])?.first?["rule"] as? String) == "DT-IOMMUS-DANGLING")
        // No RAM described: the run's own rule.
        let noRAM = Self.guest.replacingOccurrences(
            of: "memory@40000000 { device_type = \"memory\"; reg = <0 0x40000000 0 0x10000000>; };", with: "")
        result = try Tool.grantdt(["run", try write(noRAM, directory)])
        #expect(result.status == 1 && result.stdout.isEmpty && result.stderr.contains("error[RUN-TREE]"))
    }
}
