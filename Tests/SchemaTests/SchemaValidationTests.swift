import DeviceTree
import Foundation
import Testing
import TestSupport
import VirtioRuntime

/// dt-validate, the ecosystem's own validator, with schemas/xen-guest on
/// every tree grantdt produces (clean but for the waivers) and on
/// hand-written bad trees (each rejected for the stated reason).
@Suite(.enabled(if: DTValidate.shouldRun, "dt-validate is not installed: run `make schema-env`"))
struct SchemaValidationTests {
    @Test func producedTreesHaveOnlyWaivedFindings() throws {
        let findings = try DTValidate.findings(try GuestBlobs.all().map { ($0.name, $0.bytes) })
        let unwaived = findings.filter { finding in !Waiver.dtValidate.contains { $0.covers(finding) } }
        #expect(unwaived.isEmpty, "\(unwaived)")
        for waiver in Waiver.dtValidate {
            #expect(findings.contains(where: waiver.covers), "unused waiver: \(waiver)")
        }
    }

    /// The schemas themselves pass dt-schema's meta-schema.
    @Test func schemasAreValidBindings() throws {
        let result = try Tool.run(Paths.inPackage(".venv/bin/dt-doc-validate"), [DTValidate.schemas])
        #expect(result.status == 0 && result.stderr.isEmpty && result.stdout.isEmpty, "\(result.stderr)\(result.stdoutText)")
    }

    /// One dt-validate run for all bad trees (each run costs a second or more).
    static let badTreeFindings = Result { try DTValidate.findings(BadTree.all.map { ($0.name, try $0.blob()) }) }

    @Test(arguments: BadTree.all)
    func badTreeIsRejected(tree: BadTree) throws {
        let findings = try Self.badTreeFindings.get().filter { $0.file == tree.name }
        for expected in tree.schemaFindings {
            #expect(findings.contains(where: expected.matches), "\(tree.name): no finding for \(expected); got \(findings)")
        }
        let unexpected = findings.filter { finding in !tree.schemaFindings.contains { $0.matches(finding) } }
        #expect(unexpected.allSatisfy { $0.schema.contains("/dt-core.yaml") }, "\(tree.name): unexpected \(unexpected)")
    }

    /// grantdt's own tree checks see the same trees; where a binding rule
    /// has a grantdt rule, both must reject.
    @Test(arguments: BadTree.all)
    func grantdtAgrees(tree: BadTree) throws {
        let rules = Set(TreeChecks.run(try DTBReader.read(tree.blob()), file: tree.name).map(\.rule))
        #expect(rules == tree.grantdtRules, "\(tree.name)")
    }
}

/// A hand-written tree under Fixtures/bad with its expectations in
/// comments: `// expect: SCHEMA NODE PROPERTY` per dt-validate finding
/// and `// grantdt: RULE...` (or `none`) for grantdt's tree checks.
struct BadTree: Sendable, CustomTestStringConvertible {
    struct Expected: Sendable, CustomStringConvertible {
        let schema: String
        let node: String
        let property: String
        var description: String { "\(schema) \(node) \(property)" }

        func matches(_ finding: DTValidate.Finding) -> Bool {
            finding.schemaName == schema && finding.node == node && finding.concerns(property)
        }
    }

    static let directory = "Tests/SchemaTests/Fixtures/bad"

    let name: String
    let schemaFindings: [Expected]
    let grantdtRules: Set<String>
    var testDescription: String { name }

    func blob() throws -> [UInt8] { try GuestBlobs.compiled(Self.directory + "/" + name).bytes }

    static let all: [BadTree] = {
        let root = Paths.inPackage(directory)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasSuffix(".dts") }.sorted()
        return names.map { name in
            let text = (try? String(contentsOfFile: root + "/" + name, encoding: .utf8)) ?? ""
            var expected: [Expected] = []
            var rules = Set<String>()
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                if words.count == 5, words[0] == "//", words[1] == "expect:" {
                    expected.append(Expected(schema: words[2], node: words[3], property: words[4]))
                } else if words.count >= 2, words[0] == "//", words[1] == "grantdt:" {
                    rules.formUnion(words.dropFirst(2).filter { $0 != "none" })
                }
            }
            return BadTree(name: name, schemaFindings: expected, grantdtRules: rules)
        }
    }()
}
