import Testing
import TestSupport

/// Exit codes shared by every subcommand: usage errors are 2 with one line
/// on stderr and nothing on stdout; help is 0 on stdout.
@Suite struct UsageTests {
    @Test func helpListsSubcommands() throws {
        let result = try Tool.grantdt(["--help"])
        #expect(result.status == 0)
        #expect(result.stdoutText.contains("decompile"))
        #expect(result.stderr.isEmpty)
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
