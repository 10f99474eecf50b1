/// The command lines that build scripts run by the thousand — `compile`
/// and `validate` with paths and long options — read without
/// argument-parser.
///
/// argument-parser discovers a command's options by reflection at every
/// start, which costs most of a one-guest compile (BENCHMARKS.md). This
/// reader takes only command lines whose meaning is beyond doubt: the
/// subcommand first, then paths and known option names, each option at
/// most once with a non-empty value that does not start with `-`. Anything
/// else — help, `--version`, unknown or repeated options, `--`, short
/// option clusters, a missing value — returns nil and goes to
/// argument-parser, so every usage message still comes from one place.
/// Tests hold the two readers to the same result on every command line
/// this one accepts.
enum PlainCommandLine {
    /// A command that `CommandLineEntry` can execute directly.
    enum Command: Equatable {
        case compile(CompileRequest)
        case validate(ValidateRequest)

        /// Runs the command; its exit code, as the subcommand's `execute()`.
        func execute() throws(CLIFailure) -> Int32 {
            switch self {
            case .compile(let request): try request.execute()
            case .validate(let request): try request.execute()
            }
        }
    }

    /// The command `arguments` (without the program name) ask for, or nil
    /// when argument-parser must read them.
    static func parse(_ arguments: [String]) -> Command? {
        guard let subcommand = arguments.first else { return nil }
        let rest = arguments.dropFirst()
        switch subcommand {
        case "compile": return PlainSyntax.compile.read(rest, into: CompileRequest()).map(Command.compile)
        case "validate": return PlainSyntax.validate.read(rest, into: ValidateRequest()).map(Command.validate)
        default: return nil
        }
    }
}

/// One subcommand's options, each with the names it is typed as and where
/// its value goes in the request.
struct PlainSyntax<Request> {
    struct Option {
        /// As typed: `--out-dir`, `-o`.
        let names: [String]
        /// A flag takes no value.
        let takesValue: Bool
        let apply: (inout Request, String) -> Void
    }

    let options: [Option]
    /// Where a path (an argument that is not an option) goes.
    let positional: (inout Request, String) -> Void

    /// Every name of every option.
    var names: [String] { options.flatMap(\.names) }

    /// `request` with `arguments` applied, or nil when they are not plain.
    func read(_ arguments: ArraySlice<String>, into request: Request) -> Request? {
        var request = request
        var used = [Bool](repeating: false, count: options.count)
        var rest = arguments
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("-") else {
                guard !argument.isEmpty else { return nil }
                positional(&request, argument)
                continue
            }
            var name = Substring(argument)
            var inline: Substring?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = argument[..<equals]
                inline = argument[argument.index(after: equals)...]
            }
            guard let index = options.firstIndex(where: { $0.names.contains { $0 == name } }), !used[index] else { return nil }
            used[index] = true
            let option = options[index]
            guard option.takesValue else {
                guard inline == nil else { return nil }
                option.apply(&request, "")
                continue
            }
            guard let value = inline.map(String.init) ?? rest.popFirst(), !value.isEmpty, !value.hasPrefix("-") else { return nil }
            option.apply(&request, value)
        }
        return request
    }
}

extension PlainSyntax<CompileFlags> {
    /// `CompileOptions`, shared by `compile` and `validate`.
    static var compileFlags: [Option] {
        [
            value("--xen-version") { $0.xenVersion = $1 },
            value("--gpaddr-bits") { $0.gpaddrBits = $1 },
            value("--host-gic") { $0.hostGic = $1 },
            value("--timer-frequency") { $0.timerFrequency = $1 },
            value("--rng-seed") { $0.rngSeed = $1 },
            value("--arch") { $0.arch = $1 },
            value("--kernel-size") { $0.kernelSize = $1 },
            value("--ramdisk-size") { $0.ramdiskSize = $1 },
            value("--domains") { $0.domains = $1 },
            value("--template") { $0.template = $1 },
            flag("--werror") { $0.werror = true },
        ]
    }
}

extension PlainSyntax<CompileRequest> {
    static var compile: PlainSyntax {
        PlainSyntax(
            options: [
                value("-o", "--output") { $0.output = $1 },
                value("--dts") { $0.dts = $1 },
                value("--out-dir") { $0.outDir = $1 },
                flag("--json") { $0.json = true },
            ] + PlainSyntax<CompileFlags>.compileFlags.map { $0.lifted(\.flags) },
            positional: { $0.configs.append($1) })
    }
}

extension PlainSyntax<ValidateRequest> {
    static var validate: PlainSyntax {
        PlainSyntax(
            options: [flag("--json") { $0.json = true }] + PlainSyntax<CompileFlags>.compileFlags.map { $0.lifted(\.flags) },
            positional: { $0.paths.append($1) })
    }
}

extension PlainSyntax {
    static func value(_ names: String..., apply: @escaping (inout Request, String) -> Void) -> Option {
        Option(names: names, takesValue: true, apply: apply)
    }

    static func flag(_ name: String, apply: @escaping (inout Request) -> Void) -> Option {
        Option(names: [name], takesValue: false) { request, _ in apply(&request) }
    }
}

extension PlainSyntax.Option {
    /// This option, applied to the part of `Outer` at `part`.
    func lifted<Outer>(_ part: WritableKeyPath<Outer, Request>) -> PlainSyntax<Outer>.Option {
        PlainSyntax<Outer>.Option(names: names, takesValue: takesValue) { outer, value in
            apply(&outer[keyPath: part], value)
        }
    }
}
