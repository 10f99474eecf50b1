import Testing
import TestSupport

/// Exit codes shared by every subcommand: usage errors are 2 with one line
/// on stderr and nothing on stdout; help is 0 on stdout.
@Suite struct UsageTests {
    @Test func helpListsSubcommands() throws {
        let result = try Tool.grantdt(["--help"])
        #expect(result.status == 0)
        for command in ["compile", "validate", "inspect", "decompile"] { #expect(result.stdoutText.contains(command)) }
        #expect(result.stderr.isEmpty)
    }

    /// compile and validate share every compile flag, with its default.
    @Test(arguments: ["compile", "validate"])
    func compileFlagsAreDocumented(command: String) throws {
        let result = try Tool.grantdt([command, "--help"])
        #expect(result.status == 0)
        let help = result.stdoutText.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for flag in ["--xen-version <X.Y>", "default 4.22", "--gpaddr-bits <N>", "default 40", "--host-gic <v2|v3>", "default v3",
                     "--timer-frequency <HZ>", "--rng-seed <HEX|random>", "--arch <arm64|arm32>", "--kernel-size <BYTES>",
                     "default 32M", "--ramdisk-size <BYTES>", "--domains <FILE>", "--template <FILE>", "--werror", "--json"] {
            #expect(help.contains(flag), "\(command) --help lacks \(flag)")
        }
    }

    @Test func subcommandHelp() throws {
        let result = try Tool.grantdt(["decompile", "--help"])
        #expect(result.status == 0)
        #expect(result.stdoutText.contains("--output"))
    }

    @Test(arguments: [
        ["bogus"],
        ["decompile"],
        ["decompile", "a.dtb", "--no-such-flag"],
        ["decompile", "a.dtb", "-o"],
    ])
    func usageErrorsExitTwoWithOneLine(arguments: [String]) throws {
        let result = try Tool.grantdt(arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("grantdt: error: "))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "not one line: \(result.stderr)")
    }
}
