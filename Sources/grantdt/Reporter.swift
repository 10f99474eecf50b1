import Diagnostics
import SystemIO

/// How `compile` and `validate` report a run over many files. Text mode
/// prints each file's diagnostics on stderr as soon as it is done; JSON
/// mode prints one document on stdout at the end:
///
///     {"files": [{"path": ..., "diagnostics": [...]}]}
///
/// A file that cannot be read gets a one-line reason on stderr and exit
/// code 2, and no entry. The exit code is the highest of the files'.
struct Reporter {
    let json: Bool
    private var entries: [JSON] = []
    private var failures = 0
    private(set) var exitCode: Int32 = 0

    init(json: Bool) { self.json = json }

    mutating func add(_ report: FileReport) {
        exitCode = max(exitCode, report.exitCode)
        if json {
            entries.append(.object([("path", .string(report.path)), ("diagnostics", .array(report.diagnostics.map(\.json)))]))
        } else if !report.diagnostics.isEmpty {
            Console.error(report.diagnostics.map(DiagnosticText.render).joined())
        }
    }

    mutating func add(_ failure: CLIFailure) {
        exitCode = 2
        failures += 1
        Console.error("grantdt: error: \(failure.message)\n")
    }

    /// Prints the JSON document (unless every file failed, so that a run
    /// that is only exit-2 failures leaves stdout empty) and returns the exit code.
    func finish() -> Int32 {
        if json && !(failures > 0 && entries.isEmpty) {
            Console.out(JSON.object([("files", .array(entries))]).serialized() + "\n")
        }
        return exitCode
    }
}
