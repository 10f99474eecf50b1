import ArgumentParser
import DeviceTree
import SystemIO

/// `grantdt decompile IN.dtb [-o OUT.dts]`: print any valid blob as DTS.
struct Decompile: GrantdtCommand {
    static let configuration = CommandConfiguration(
        // An explicit name: deriving it from the type name costs ~2 M
        // instructions of runtime conformance scans at every start.
        commandName: "decompile",
        abstract: "Print a device tree blob as DTS source.",
        discussion: "A corrupt or unreadable blob gives a one-line reason on stderr and exit code 2."
    )

    @Argument(help: "The device tree blob to read.")
    var input: String

    @Option(name: .shortAndLong, help: "Write the DTS to this file (atomically) instead of standard output.")
    var output: String?

    func execute() throws(CLIFailure) -> Int32 {
        let tree = try readTree(input)
        let text = DTSPrinter.print(tree)
        if let output {
            do { try FileSystem.writeAtomically(Array(text.utf8), to: output) } catch { throw CLIFailure("\(error)") }
        } else {
            Console.out(text)
        }
        return 0
    }
}

/// Reads and parses a blob; any failure is a one-line CLI failure naming the file.
func readTree(_ path: String) throws(CLIFailure) -> DeviceTree {
    let bytes: [UInt8]
    do { bytes = try FileSystem.readFile(path) } catch { throw CLIFailure("\(error)") }
    return try parseTree(bytes, path: path)
}

/// Parses a blob read from `path`; a bad one is a one-line CLI failure.
func parseTree(_ bytes: [UInt8], path: String) throws(CLIFailure) -> DeviceTree {
    do { return try DTBReader.read(bytes) } catch { throw CLIFailure("\(path): \(error)") }
}
