import Foundation
import LDAPTestSupport
import Testing

/// Every `groupsync` command line in docs/operations.md and in the README (those without
/// placeholders) runs against the demo's directory and configuration, and none is a usage
/// or configuration error.
@Suite("The documented command lines run", .tags(.slapd))
struct DocumentedCommandsTests {
    /// The `groupsync …` lines of a Markdown file's ```sh blocks, split into arguments.
    static func commands(in file: String) throws -> [[String]] {
        let text = try String(contentsOf: ExampleConfigTests.repository.appendingPathComponent(file), encoding: .utf8)
        var result: [[String]] = []
        var inShell = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") {
                inShell = trimmed == "```sh" && !inShell
                continue
            }
            guard inShell, trimmed.hasPrefix("groupsync ") else { continue }
            let command = trimmed.components(separatedBy: "  #").first!.trimmingCharacters(in: .whitespaces)
            result.append(split(command))
        }
        return result
    }

    /// Shell-like words: double quotes group, nothing else is special.
    static func split(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        for character in line {
            if character == "\"" { quoted.toggle(); continue }
            if character == " " && !quoted {
                if !current.isEmpty { words.append(current); current = "" }
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// A synopsis, not a command: placeholders in capitals, options in brackets.
    static func isSynopsis(_ words: [String]) -> Bool {
        words.contains { $0.contains("[") || $0.contains("…") || ($0.count > 1 && $0 == $0.uppercased() && $0.first!.isLetter) }
    }

    @Test("docs/operations.md and the README: every command runs against the demo directory")
    func documented() async throws {
        let directory = try await TestDirectory.start(SampleDirectory.fixture(people: 300))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-docs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(atPath: directory.caFile, toPath: folder.appendingPathComponent("ca.pem").path)
        try writeSecret(DirectoryFixture.servicePassword + "\n", to: folder.appendingPathComponent("ldap-password"))
        let config = folder.appendingPathComponent("groupsync.yaml").path
        try SampleDirectory.demoConfiguration(url: directory.ldapURL).write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try CLITests.run(["sync", "--config", config]).status == 0)

        let operations = try Self.commands(in: "docs/operations.md")
        #expect(operations.count >= 15, "the runbook's commands were found: \(operations.count)")
        let readme = try Self.commands(in: "README.md").filter { !Self.isSynopsis($0) && !$0.contains("serve") && !$0.contains("--server") }
        var ran = 0
        for words in operations + readme {
            let arguments = Array(words.dropFirst()) + (words.contains("--config") ? [] : ["--config", config])
            let result = try CLITests.run(arguments)
            #expect(![2, 64].contains(result.status), "\(words.joined(separator: " ")) → exit \(result.status): \(result.stderr)")
            #expect(!result.stdout.isEmpty || !result.stderr.isEmpty, "\(words.joined(separator: " ")) printed nothing")
            ran += 1
        }
        #expect(ran == operations.count + readme.count)
    }
}
