import SystemIO

/// How a directory given as an input expands (`validate DIR`,
/// `compile DIR --out-dir OUT`).
enum InputFiles {
    /// The top-level files of `directory` whose names end in one of
    /// `suffixes`, sorted bytewise; hidden files and subdirectories are
    /// skipped. An unreadable directory is a one-line failure.
    static func inDirectory(_ directory: String, suffixes: [String]) throws(CLIFailure) -> [String] {
        let names: [String]
        do { names = try FileSystem.directoryEntries(directory, excludingDirectories: true) } catch { throw CLIFailure("\(error)") }
        return names.filter { name in !name.hasPrefix(".") && suffixes.contains { name.hasSuffix($0) } }
            .map { FileSystem.joined(directory, $0) }
    }
}
