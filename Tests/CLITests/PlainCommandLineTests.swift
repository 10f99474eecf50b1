import ArgumentParser
import Foundation
import Testing
import TestSupport
@testable import grantdt

/// `PlainCommandLine` reads the common `compile` and `validate` command
/// lines without argument-parser. It must mean exactly what argument-parser
/// means whenever it answers, and leave everything else to it.
@Suite struct PlainCommandLineTests {
    @Test func readsACompile() {
        let command = PlainCommandLine.parse([
            "compile", "guest.cfg", "-o", "guest.dtb", "--dts=guest.dts", "--domains", "domains", "--werror", "--json",
        ])
        var request = CompileRequest(configs: ["guest.cfg"], output: "guest.dtb", dts: "guest.dts", json: true)
        request.flags.domains = "domains"
        request.flags.werror = true
        #expect(command == .compile(request))
    }

    @Test func readsManyConfigsAndAValidate() {
        let configs = (0..<50).map { "g\($0).cfg" }
        #expect(PlainCommandLine.parse(["compile"] + configs + ["--out-dir", "out"]) == .compile(CompileRequest(configs: configs, outDir: "out")))
        var request = ValidateRequest(paths: ["examples", "a.dtb"])
        request.flags.xenVersion = "4.17"
        #expect(PlainCommandLine.parse(["validate", "examples", "--xen-version", "4.17", "a.dtb"]) == .validate(request))
    }

    /// Help, version, errors and anything unusual go to argument-parser.
    @Test(arguments: [
        [], ["--help"], ["--version"], ["help", "compile"], ["inspect", "a.dtb"], ["run", "a.cfg"], ["decompile", "a.dtb"],
        ["compile", "-h"], ["compile", "--help"], ["compile", "a.cfg", "--bogus"], ["compile", "a.cfg", "-o"],
        ["compile", "a.cfg", "-o", "--json"], ["compile", "a.cfg", "-o", "a", "-o", "b"], ["compile", "a.cfg", "-o", "a", "--output", "b"],
        ["compile", "a.cfg", "--dts="], ["compile", "a.cfg", "--json=yes"], ["compile", "a.cfg", "--json", "--json"],
        ["compile", "a.cfg", "-oa.dtb"], ["compile", "a.cfg", "-o=a.dtb"], ["compile", "--", "a.cfg"], ["compile", "-"],
        ["compile", ""], ["compile", "a.cfg", "-o", ""], ["compile", "a.cfg", "--generate-completion-script", "bash"],
        ["validate", "a.cfg", "-o", "x"], ["validate", "a.cfg", "--out-dir", "x"], ["validate", "--experimental-dump-help"],
        ["COMPILE", "a.cfg"],
    ])
    func leavesTheRestToArgumentParser(arguments: [String]) {
        #expect(PlainCommandLine.parse(arguments) == nil)
    }

    /// Random command lines from names both readers know, names neither
    /// knows, and awkward values: whenever the plain reader answers,
    /// argument-parser accepts the same line with the same meaning.
    @Test func agreesWithArgumentParser() throws {
        var generator = SplitMix64(seed: 0x91a1_7c0d)
        let names = PlainSyntax<CompileRequest>.compile.names + ["--bogus", "-x", "--", "-", "-h", "--out", "--json=1"]
        let values = ["a.cfg", "dir/b.cfg", "x=y", "", "-", "-o", "--json", "help", "compile", "4.17", "é.cfg", "a b", "--dts=c"]
        var answered = 0
        for _ in 0..<1_000 {
            var arguments = [["compile", "validate"].randomElement(using: &generator)!]
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: arguments.append(values.randomElement(using: &generator)!)
                case 1: arguments.append(names.randomElement(using: &generator)! + "=" + values.randomElement(using: &generator)!)
                default: arguments.append(names.randomElement(using: &generator)!)
                }
            }
            guard let plain = PlainCommandLine.parse(arguments) else { continue }
            answered += 1
            let parsed: ParsableCommand
            do { parsed = try Grantdt.parseAsRoot(arguments) } catch {
                Issue.record("argument-parser refuses \(arguments), which the plain reader took as \(plain)")
                continue
            }
            let full: PlainCommandLine.Command? = switch parsed {
            case let compile as Compile: .compile(compile.request)
            case let validate as Validate: .validate(validate.request)
            default: nil
            }
            #expect(full == plain, "\(arguments)")
        }
        // Enough plain lines for the comparison to mean something.
        #expect(answered > 150)
    }

    /// The plain reader knows every option argument-parser declares for
    /// `compile` and `validate`, and no other: a new flag cannot be
    /// forgotten (the plain reader would refuse its command lines, and
    /// this test names it).
    @Test(arguments: ["compile", "validate"])
    func knowsExactlyTheDeclaredOptions(command: String) throws {
        let result = try Tool.grantdt([command, "--experimental-dump-help"])
        #expect(result.status == 0)
        let dump = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
        let arguments = try #require((dump["command"] as? [String: Any])?["arguments"] as? [[String: Any]])
        var declared: Set<String> = []
        for argument in arguments {
            for name in argument["names"] as? [[String: String]] ?? [] where name["name"] != "help" && name["name"] != "h" {
                declared.insert((name["kind"] == "short" ? "-" : "--") + (name["name"] ?? ""))
            }
        }
        let plain = command == "compile" ? PlainSyntax<CompileRequest>.compile.names : PlainSyntax<ValidateRequest>.validate.names
        #expect(Set(plain) == declared)
    }
}
