import ArgumentParser
import SystemIO

/// A subcommand that reports its own exit code (DEVELOPERS.md's table:
/// 0 success, 1 the input has errors, 2 usage error or unreadable input).
protocol GrantdtCommand: ParsableCommand {
    func execute() throws(CLIFailure) -> Int32
}

extension GrantdtCommand {
    /// Ends with the command's exit code, which `CommandLineEntry` returns.
    mutating func run() throws { throw ExitCode(try execute()) }
}

/// Ends a command with exit code 2 and this one-line reason on stderr.
struct CLIFailure: Error {
    let message: String

    init(_ message: String) { self.message = message }
}

/// Parses the command line, runs the command, and maps every outcome to an
/// exit code. argument-parser's own usage failures (its code 64) become 2.
enum CommandLineEntry {
    static func run(_ arguments: [String]) -> Int32 {
        do {
            // Plain compile and validate lines skip argument-parser's start-up.
            if let command = PlainCommandLine.parse(arguments) { return try command.execute() }
            // `run()` rather than a cast to `any GrantdtCommand`: the first
            // cast to a protocol scans every conformance record of the
            // binary (see BENCHMARKS.md), and a command's code comes back
            // as a thrown `ExitCode` anyway.
            var command = try Grantdt.parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let code as ExitCode {
            return code.rawValue
        } catch let failure as CLIFailure {
            Console.error("grantdt: error: \(failure.message)\n")
            return 2
        } catch {
            guard Grantdt.exitCode(for: error) == .success else {
                Console.error("grantdt: error: \(oneLine(Grantdt.message(for: error)))\n")
                return 2
            }
            // --help and --version: requested output, on stdout.
            Console.out(Grantdt.fullMessage(for: error) + "\n")
            return 0
        }
    }

    private static func oneLine(_ message: String) -> String {
        message.split(whereSeparator: \.isNewline).map { $0.trimmingPrefix(while: \.isWhitespace) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }
}
