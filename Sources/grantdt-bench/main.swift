import Glibc
import SystemIO

/// `grantdt-bench [SUITE...]`: runs the benchmark suites and prints their
/// figures as Markdown for BENCHMARKS.md. Build in release mode first
/// (`make bench` does): whole-process figures use the `grantdt` built
/// next to this executable, stripped as `make install` installs it.
let suites: [String: (_ scratch: String, _ grantdt: String) throws -> String] = [
    "devicetree": DeviceTreeBench.run,
    "compile": CompileBench.run,
    "binder": BinderBench.run,
    "engine": EngineBench.run,
    "virtio": VirtioBench.run,
]

/// The directory holding this executable, from /proc/self/exe.
func productsDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "." }
    let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
}

@MainActor
func runSuites() -> Int32 {
    let requested = CommandLine.arguments.count > 1 ? Array(CommandLine.arguments.dropFirst()) : suites.keys.sorted()
    if let unknown = requested.first(where: { suites[$0] == nil }) {
        Console.error("grantdt-bench: unknown suite '\(unknown)'; known: \(suites.keys.sorted().joined(separator: ", "))\n")
        return 2
    }
    let built = productsDirectory() + "/grantdt"
    guard FileSystem.exists(built) else {
        Console.error("grantdt-bench: \(built) is missing: build it first (swift build -c release)\n")
        return 2
    }
    guard let scratch = makeScratchDirectory(in: "/tmp") else {
        Console.error("grantdt-bench: cannot create a scratch directory\n")
        return 2
    }
    defer { try? Spawn.run(["rm", "-rf", scratch]) }
    // Whole-process figures time the binary as `make install` puts it in
    // place: stripped (its symbol table alone costs start-up time).
    let installed = scratch + "/grantdt"
    do { try Spawn.run(["strip", "-o", installed, built]) } catch {
        Console.error("grantdt-bench: cannot strip \(built) (\(error)): timing it unstripped\n")
    }
    let grantdt = FileSystem.exists(installed) ? installed : built
    for name in requested {
        do {
            Console.out(try suites[name]!(scratch, grantdt) + "\n")
        } catch {
            Console.error("grantdt-bench: \(name): \(error)\n")
            return 1
        }
    }
    return 0
}

exit(runSuites())
