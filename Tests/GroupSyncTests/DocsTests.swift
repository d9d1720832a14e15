import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import Testing

/// The documentation cannot drift from the program: every key the configuration loader
/// accepts is documented in docs/configuration.md.
@Suite("Documentation")
struct DocsTests {
    @Test("docs/configuration.md documents every key the loader accepts")
    func configurationKeys() throws {
        let repository = ExampleConfigTests.repository
        let docs = try String(contentsOf: repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let folder = repository.appendingPathComponent("Sources/SyncConfig")
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

    @Test("docs/configuration.md's example with every key parses, and uses every key the loader accepts")
    func everyKeyExample() throws {
        let docs = try String(contentsOf: ExampleConfigTests.repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let block = try #require(docs.components(separatedBy: "## Every key at once").last?.components(separatedBy: "```yaml\n").last?
            .components(separatedBy: "```").first)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-docs-keys-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in ["ca.pem", "client.pem", "client.key", "ldap-password", "api-token"] {
            try writeSecret("secret-0123456789abcdef\n", to: folder.appendingPathComponent(file))
        }
        let config = try ConfigLoader.parse(
            block, file: folder.appendingPathComponent("groupsync.yaml").path, environment: ["BRANCH_LDAP_PASSWORD": "x"])
        #expect(config.directories.count == 2 && config.policies.intents.count == 3)
        #expect(config.directories[0].schedule?.watch == true && config.directories[1].incremental.method == .dirsync)
    }
}
