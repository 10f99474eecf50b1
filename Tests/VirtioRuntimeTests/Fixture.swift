import DeviceTree
import Foundation
import TestSupport
import VirtioRuntime

/// The DTS fixtures of this target, compiled with dtc (the independent
/// oracle that every fixture is a valid tree) and read with our reader.
enum Fixture {
    static let directory = Paths.inPackage("Tests/VirtioRuntimeTests/Fixtures")

    /// The blob dtc builds from `name` (a path below Fixtures/).
    static func blob(_ name: String) throws -> [UInt8] {
        let result = try Tool.dtc(["-q", "-I", "dts", "-O", "dtb", "-o", "-", directory + "/" + name])
        guard result.status == 0 else { throw DTC.OracleError.dtcFailed(result.stderr) }
        return result.stdout
    }

    static func tree(_ name: String) throws -> DeviceTree { try DTBReader.read(blob(name)) }

    static func binder(_ name: String) throws -> Binder { Binder(tree: try tree(name)) }

    /// The `// expect RULE /path` lines of a fixture, in file order.
    static func expectations(_ name: String) throws -> [String] {
        try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            .split(separator: "\n")
            .compactMap { line in
                let words = line.split(separator: " ")
                guard words.count == 4, words[0] == "//", words[1] == "expect" else { return nil }
                return "\(words[2]) \(words[3])"
            }
    }

    /// Every rule fixture (Fixtures/rules/*.dts), by file name.
    static var ruleFixtures: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/rules")) ?? [])
            .filter { $0.hasSuffix(".dts") }.sorted()
    }
}

/// One line per device, for readable comparisons:
/// `/virtio@2000000 okay 0x2000000+0x200 spi 33 grant 1`.
func summary(_ device: DeviceBinding) -> String {
    var text = "\(device.path) \(device.state.status) \(device.reg.map(String.init(describing:)) ?? "-")"
    text += " spi \(device.spi.map(String.init) ?? "-")"
    switch device.state.dma {
    case .none: break
    case .grant(let backend): text += " grant \(backend)"
    case .iommu(let path): text += " iommu \(path)"
    case .bounce(let pool): text += " bounce \(pool) \(device.poolRange.map(String.init(describing:)) ?? "boot")"
    case .direct: text += " direct"
    }
    return text
}

