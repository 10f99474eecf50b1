import Diagnostics
import Foundation
import GuestLayout
import Testing
import TestSupport

/// The compiled-in layout is generated from templates/: the file parses
/// cleanly, equals `Template.builtin`, and the generated source is what
/// the renderer makes of it today.
@Suite struct BuiltinTemplateTests {
    static func parsedTemplateFile() throws -> (Template?, [Diagnostic]) {
        let path = Paths.inPackage(TemplateSource.templatePath)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return TemplateParser.parse(text, file: TemplateSource.templatePath)
    }

    @Test func templateFileParsesWithoutFindings() throws {
        let (template, diagnostics) = try Self.parsedTemplateFile()
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(template != nil)
    }

    @Test func generatedSourceMatchesTemplateFile() throws {
        let (parsed, _) = try Self.parsedTemplateFile()
        let template = try #require(parsed)
        let expected = TemplateSource.render(template)
        let path = Paths.inPackage(TemplateSource.generatedPath)
        if ProcessInfo.processInfo.environment["GRANTDT_UPDATE_TEMPLATE"] == "1" {
            try expected.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let actual = try String(contentsOfFile: path, encoding: .utf8)
        #expect(actual == expected, "\(TemplateSource.generatedPath) is stale: run GRANTDT_UPDATE_TEMPLATE=1 swift test --filter BuiltinTemplateTests")
        #expect(Template.builtin == template)
    }
}
