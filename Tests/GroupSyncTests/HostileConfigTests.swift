import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import Testing

/// Configuration files an admin (or a broken deployment) may hand groupsync: each gets a
/// clear error naming the file, line and key where there is one; none crashes or hangs.
@Suite("Hostile configuration files")
struct HostileConfigTests {
    static var folder: URL { ConfigLoaderTests.folder }
    static var file: String { ConfigLoaderTests.folder.appendingPathComponent("hostile.yaml").path }

    static let base = """
        store:
          path: var/groupsync.sqlite
        directories:
          - name: corp
            url: ldap://ldap.example.com
            bind:
              dn: cn=groupsync,ou=service,dc=example,dc=com
              password_file: password
            users:
              base: ou=people,dc=example,dc=com
            groups:
              base: ou=groups,dc=example,dc=com
        """

    /// A YAML text, and what its error must say.
    static let cases: [(String, String, String)] = [
        ("a word for a number", base + "\n    page_size: lots", #"hostile.yaml:13: directories[0].page_size: expected a whole number, found "lots""#),
        ("a number past Int", base + "\n    page_size: 99999999999999999999999", "directories[0].page_size: expected a whole number"),
        ("a negative size", base + "\n    page_size: -5", "directories[0].page_size: must be between 1 and 100000, found -5"),
        ("a duration that would overflow", base + "\n    timeout: 999999999999999d", "directories[0].timeout: expected a duration such as 30s, 5m, 2h or 1h30m (at most 3650d)"),
        ("a duration past ten years", base + "\n    timeout: 3651d", "(at most 3650d)"),
        ("a share over 100%", base + "\n    limits: {max_user_deletions: 250%}", "directories[0].limits.max_user_deletions: expected a count (500) or a share (10%)"),
        ("a number for a list", "store: {path: x.sqlite}\ndirectories: 5\n", "hostile.yaml:2: directories: expected a list, found a single value"),
        ("a list for a mapping", base.replacingOccurrences(of: "    users:\n      base: ou=people,dc=example,dc=com", with: "    users: [a, b]"), "directories[0].users: expected a mapping"),
        ("a mapping for a string", base.replacingOccurrences(of: "url: ldap://ldap.example.com", with: "url: {a: b}"), "directories[0].url"),
        ("a control character", "store:\n  path: a\u{01}b.sqlite\n", "control characters are not allowed"),
        ("ten thousand open brackets", "store: " + String(repeating: "[", count: 10000) + String(repeating: "]", count: 10000) + "\n", "nesting"),
        ("an alias", "store: &s\n  path: a.sqlite\ndirectories: *s\n", "YAML aliases are not supported"),
        ("a bad filter", base.replacingOccurrences(of: "      base: ou=people,dc=example,dc=com", with: "      base: ou=people,dc=example,dc=com\n      filter: (&(uid=a)"), "directories[0].users.filter: invalid LDAP filter"),
        ("a filter nested 100,000 deep", base.replacingOccurrences(of: "      base: ou=people,dc=example,dc=com", with: "      base: ou=people,dc=example,dc=com\n      filter: \"" + String(repeating: "(!", count: 100_000) + "(uid=a)" + String(repeating: ")", count: 100_000) + "\""), "filters nested more than 64 deep"),
        ("a bad DN", base.replacingOccurrences(of: "      base: ou=groups,dc=example,dc=com", with: "      base: ou=groups,,dc=example"), "directories[0].groups.base: not a valid DN"),
        ("a missing CA file", base + "\n    tls:\n      ca_file: /nonexistent/ca.pem", "directories[0].tls.ca_file: cannot read /nonexistent/ca.pem"),
    ]

    @Test("wrong types, huge and overflowing values, control characters, nesting, aliases, bad filters and DNs, missing files",
          arguments: cases)
    func refused(name: String, text: String, expected: String) throws {
        let error = try #require(throws: ConfigError.self, "\(name)") { try ConfigLoader.parse(text, file: Self.file) }
        #expect("\(error)".contains(expected), "\(name): \(error)")
    }

    @Test("a billion laughs: aliases are refused before anything is expanded")
    func billionLaughs() throws {
        var text = "store:\n  path: x.sqlite\nprofile_groups:\n  - name: a\n    groups: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1..<10 {
            let previous = level == 1 ? "a" : "l\(level - 1)"
            text += "  - name: l\(level)\n    groups: &l\(level) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(text, file: Self.file) }
        #expect(error.message.contains("YAML aliases are not supported"), "\(error)")
    }

    @Test("files that are not configurations: missing, a directory, a device, too big, not UTF-8")
    func files() throws {
        let big = Self.folder.appendingPathComponent("big.yaml")
        try Data((Self.base + "\n# " + String(repeating: "x", count: 2 << 20) + "\n").utf8).write(to: big)
        let latin1 = Self.folder.appendingPathComponent("latin1.yaml")
        try Data("store:\n  path: caf\u{E9}.sqlite\n".data(using: .isoLatin1)!).write(to: latin1)
        for (path, expected) in [
            ("/nonexistent/groupsync.yaml", "cannot read the file (missing or no permission)"),
            (Self.folder.path, "not a regular file"),
            ("/dev/zero", "not a regular file"),
            (big.path, "a configuration is at most 1048576 (1 MiB)"),
            (latin1.path, "the file is not valid UTF-8"),
        ] {
            let error = try #require(throws: ConfigError.self, "\(path)") { try ConfigLoader.load(path: path) }
            #expect("\(error)".contains(expected), "\(path): \(error)")
            #expect("\(error)".contains(path), "the error names the file: \(error)")
        }
    }

    @Test("secret files: empty, world-readable, or missing")
    func secrets() throws {
        let password = Self.folder.appendingPathComponent("password-hostile")
        let text = Self.base.replacingOccurrences(of: "password_file: password", with: "password_file: password-hostile")
        try writeSecret("\n", to: password)
        var error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(text, file: Self.file) }
        #expect(error.message.contains("a simple bind with an empty password is an unauthenticated (anonymous) bind"), "\(error)")
        #expect(error.keyPath == "directories[0].bind.password_file")
        try writeSecret("secret\n", to: password)
        try FileManager.default.setAttributes([.posixPermissions: 0o604], ofItemAtPath: password.path)
        error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(text, file: Self.file) }
        #expect(error.message.contains("every user on this machine can read it (mode 604)"), "\(error)")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: password.path)
        _ = try ConfigLoader.parse(text, file: Self.file)
        try FileManager.default.removeItem(at: password)
        error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(text, file: Self.file) }
        #expect(error.message.contains("missing or no permission"), "\(error)")
        // (An environment of the test's own: setenv would race with other tests starting
        // processes, whose posix_spawn reads the environment as setenv reallocates it.)
        let emptyVariable = ["GROUPSYNC_EMPTY_PASSWORD": ""]
        let environment = Self.base.replacingOccurrences(of: "password_file: password", with: "password_env: GROUPSYNC_EMPTY_PASSWORD")
        let config = try ConfigLoader.parse(environment, file: Self.file, environment: emptyVariable)
        guard let bind = config.directories[0].bind else { Issue.record("no bind"); return }
        let envError = try #require(throws: ConfigError.self) { try bind.readPassword(environment: emptyVariable) }
        #expect(envError.message.contains("is empty"), "\(envError)")
    }

    @Test("the committed fuzz corpora replay through the fuzz targets without a failure")
    func fuzzCorpora() async throws {
        let repository = ExampleConfigTests.repository
        for target in ["dn", "filter", "config"] {
            let binary = URL(fileURLWithPath: CLITests.binary).deletingLastPathComponent().appendingPathComponent("fuzz-\(target)").path
            let corpus = repository.appendingPathComponent("Fuzz/Corpus/\(target)").path
            let inputs = try FileManager.default.contentsOfDirectory(atPath: corpus).count
            #expect(inputs >= 3, "\(target): the corpus is committed")
            let output = try await runCommandDetached(binary, [corpus])
            #expect(output.contains("replayed \(inputs) inputs without a failure"), "\(target): \(output)")
        }
    }
}
