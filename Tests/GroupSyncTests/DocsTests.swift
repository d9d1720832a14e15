import Foundation
import Testing

/// The documentation cannot drift from the program: every key the configuration loader
/// accepts is documented in docs/configuration.md.
@Suite("Documentation")
struct DocsTests {
    @Test("docs/configuration.md documents every key the loader accepts")
    func configurationKeys() throws {
        let repository = ExampleConfigTests.repository
        let docs = try String(contentsOf: repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let folder = repository.appendingPathComponent("Sources/GroupSync/Config")
        var keys = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let source = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            // Every `fields([...])` list, possibly over several lines.
            for match in source.matches(of: try Regex(#"fields\(\[([^\]]*)\]\)"#)) {
                let list = String(source[match.range]).split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
                keys.formUnion(list)
            }
        }
        #expect(keys.count > 50, "the loader's keys were found: \(keys.sorted())")
        let missing = keys.filter { !docs.contains("`\($0)`") }.sorted()
        #expect(missing.isEmpty, "not documented in docs/configuration.md: \(missing)")
    }

    @Test("shell completions come from the parser and know every command")
    func completions() throws {
        for shell in ["bash", "zsh", "fish"] {
            let result = try CLITests.run(["--generate-completion-script", shell])
            #expect(result.status == 0)
            for command in ["sync", "verify", "explain", "report", "runs", "status", "check", "serve"] {
                #expect(result.stdout.contains(command), "\(shell) completion knows \(command)")
            }
        }
    }
}
