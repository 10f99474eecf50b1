import ArgumentParser

/// The root command: only lists the subcommands.
struct Grantdt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grantdt",
        abstract: "Guest device trees and grant-based virtio DMA for Xen on Arm.",
        discussion: """
            Exit codes: 0 success (warnings allowed), 1 the input has errors, \
            2 usage error or unreadable input.
            """,
        subcommands: [Compile.self, Validate.self, Inspect.self, Run.self, Decompile.self]
    )
}
