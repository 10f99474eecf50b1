import Foundation
import Testing
import TestSupport

/// `grantdt run` on every guest in examples/, compiled from its .cfg:
/// every device verifies with no grant left outstanding, and under
/// `--hostile` every attack on a device granted to an unprivileged backend
/// is refused or contained.
@Suite struct ExampleRunTests {
    /// A short workload: the point is every device of every example, end to end.
    static let workload = ["--requests", "40", "--json"]

    private func run(_ name: String, _ extra: [String] = []) throws -> (status: Int32, report: [String: Any]) {
        let result = try Tool.grantdt(
            ["run", "examples/\(name).cfg"] + ExampleTests.flags + Self.workload + extra, in: Paths.packageRoot)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any], "\(result.stderr)")
        return (result.status, report)
    }

    /// The devices the config grants to a domain other than dom0.
    private func unprivilegedGrantDevices(_ name: String) -> Set<String> {
        Set((ExampleTests.bindings[name] ?? []).compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count == 3 && fields[1] == "grant" && fields[2] != "0" ? String(fields[0]) : nil
        })
    }

    @Test(arguments: ExampleTests.examples)
    func everyDeviceVerifies(name: String) throws {
        let (status, report) = try run(name)
        #expect(status == 0)
        #expect(report["ok"] as? Bool == true)
        let devices = try #require(report["devices"] as? [[String: Any]])
        #expect(devices.count == ExampleTests.bindings[name]?.count, "every virtio node of the config runs")
        for device in devices {
            let path = device["path"] as? String ?? "?"
            #expect(device["verified"] as? Bool == true, "\(path)")
            #expect(device["grants_outstanding"] as? Int == 0, "\(path)")
            #expect((device["requests"] as? Int ?? 0) > 0, "\(path)")
        }
    }

    @Test(arguments: ExampleTests.examples)
    func hostileBackendsAreConfinedByGrants(name: String) throws {
        let (status, report) = try run(name, ["--hostile"])
        let attacks = try #require(report["attacks"] as? [[String: Any]])
        let confined = unprivilegedGrantDevices(name)
        for attack in attacks where confined.contains(attack["device"] as? String ?? "") {
            let outcome = attack["outcome"] as? String
            #expect(outcome == "refused" || outcome == "contained", "\(attack)")
        }
        // dom0 may map any guest page: grants confine only other backends.
        let dom0Grants = (ExampleTests.bindings[name] ?? []).contains { $0.hasSuffix(" grant 0") }
        #expect(status == (dom0Grants ? 1 : 0))
        #expect(report["ok"] as? Bool == !dom0Grants)
    }

    @Test func aDirectDeviceIsServedByTheBackendItsConfigNames() throws {
        // eleven-devices: backend 6 has grant_usage=0, so it must (and may)
        // map guest memory itself; a hostile run shows what it reaches.
        let (status, report) = try run("eleven-devices", ["--hostile"])
        #expect(status == 0)
        let attacks = try #require(report["attacks"] as? [[String: Any]])
        let direct = attacks.filter { $0["device"] as? String == "/virtio@2001400" }
        #expect(direct.contains { $0["attack"] as? String == "forge-gpa" && $0["outcome"] as? String == "succeeded" })
        let devices = try #require(report["devices"] as? [[String: Any]])
        let device = try #require(devices.first { $0["path"] as? String == "/virtio@2001400" })
        #expect(device["dma"] as? String == "direct")
    }

    @Test func aConfigWithErrorsIsNotRun() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("bad.cfg", "name = \"bad\"\nmemory = 256\ngic_version = v3\n")
        let result = try Tool.grantdt(["run", config, "--json"])
        #expect(result.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
        #expect(report["ok"] as? Bool == false)
        let diagnostics = try #require(report["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.contains { $0["rule"] as? String == "XL-UNQUOTED" && $0["line"] as? Int == 3 })
    }

    @Test func compileOptionsApplyToTheRun() throws {
        // A bad compile option is a usage error before anything runs.
        let result = try Tool.grantdt(["run", "examples/i2c-gpio.cfg", "--xen-version", "4.9"], in: Paths.packageRoot)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("grantdt: error: "))
    }
}
