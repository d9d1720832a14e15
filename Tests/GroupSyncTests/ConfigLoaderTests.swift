import Foundation
import LDAPTestSupport
import GroupSync
import LDAPClient
import SyncConfig
import Testing

@Suite("Configuration: parsing and errors that say where")
struct ConfigLoaderTests {
    static let folder: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-config-tests")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try? writeSecret("secret\n", to: folder.appendingPathComponent("password"))
        return folder
    }()

    static var file: String { folder.appendingPathComponent("groupsync.yaml").path }

    static let valid = """
        store:
          path: var/groupsync.sqlite
        directories:
          - name: corp
            url: ldaps://ldap.example.com:636
            tls:
              verify: true
            bind:
              dn: cn=groupsync,ou=service,dc=example,dc=com
              password_file: password
            flavour: openldap
            page_size: 500
            timeout: 1m30s
            users:
              base: ou=people,dc=example,dc=com
              scope: one
              filter: (&(objectClass=inetOrgPerson)(!(employeeType=robot)))
            groups:
              base: ou=groups,dc=example,dc=com
            attributes:
              aliases: [mailAlternateAddress, mailLocalAddress]
              disabled: pwdAccountLockedTime
            limits:
              max_user_deletions: 500
              max_group_deletions: 5%
            schedule:
              every: 30m
              jitter: 2m
            incremental:
              method: usn
              full_every: 12h
        """

    @Test("a full configuration parses with every value in place")
    func valid() throws {
        let config = try ConfigLoader.parse(Self.valid, file: Self.file)
        #expect(config.store.path == Self.folder.appendingPathComponent("var/groupsync.sqlite").path)
        let corp = try #require(config.directory(named: "corp"))
        #expect(corp.url == "ldaps://ldap.example.com:636")
        #expect(corp.tls.verify)
        #expect(corp.bind?.password == .file(Self.folder.appendingPathComponent("password").path))
        #expect(try corp.bind?.readPassword() == Array("secret".utf8))
        #expect(corp.pageSize == 500)
        #expect(corp.timeout == .seconds(90))
        #expect(corp.users.scope == .one)
        #expect(corp.users.filter == "(&(objectClass=inetOrgPerson)(!(employeeType=robot)))")
        #expect(corp.groups.filter.contains("groupOfNames"))
        #expect(corp.attributes.aliases == ["mailAlternateAddress", "mailLocalAddress"])
        #expect(corp.limits.maxUserDeletions == .count(500))
        #expect(corp.limits.maxGroupDeletions == .share(0.05))
        #expect(corp.limits.maxMembershipDeletions == .share(0.10))
        #expect(corp.schedule?.every == .seconds(1800))
        #expect(corp.incremental == IncrementalConfig(method: .usn, fullEvery: .seconds(12 * 3600)))
        #expect(corp.schedule?.watch == false && corp.schedule?.batchWindow == .seconds(2))
        let watching = try ConfigLoader.parse(
            Self.valid.replacingOccurrences(of: "      every: 30m\n      jitter: 2m", with: "      watch: true\n      batch_window: 500ms")
                .replacingOccurrences(of: "method: usn", with: "method: syncrepl"), file: Self.file)
        #expect(watching.directories[0].schedule?.watch == true && watching.directories[0].schedule?.batchWindow == .milliseconds(500))
        let minimal = try ConfigLoader.parse(Self.valid.components(separatedBy: "    incremental:")[0], file: Self.file)
        #expect(minimal.directories[0].incremental == IncrementalConfig(method: .auto, fullEvery: .seconds(24 * 3600)), "the defaults")
        let logged = try ConfigLoader.parse(
            Self.valid.replacingOccurrences(of: "method: usn", with: "method: syncrepl")
                .replacingOccurrences(of: "full_every: 12h", with: "full_every: 12h\n      access_log: cn=AccessLog"), file: Self.file)
        #expect(logged.directories[0].incremental.accessLog == "cn=AccessLog")
        let onAD = Self.valid.replacingOccurrences(of: "flavour: openldap", with: "flavour: activedirectory")
            .replacingOccurrences(of: "full_every: 12h", with: "full_every: 12h\n      access_log: cn=accesslog")
        let adError = try #require(throws: ConfigError.self) { try ConfigLoader.parse(onAD, file: Self.file) }
        #expect(adError.keyPath == "directories[0].incremental.access_log" && adError.line == 32, "\(adError)")
        #expect(adError.message.contains("Active Directory's incremental runs read member values"), "\(adError)")
    }

    @Test(
        "mistakes are errors naming the line and key path",
        arguments: [
            ("page_size: 500", "page_sise: 500", 12, "directories[0].page_sise", "unknown key \"page_sise\""),
            ("page_size: 500", "page_size: lots", 12, "directories[0].page_size", "expected a whole number, found \"lots\""),
            ("timeout: 1m30s", "timeout: soon", 13, "directories[0].timeout", "expected a duration"),
            ("max_group_deletions: 5%", "max_group_deletions: 5 percent", 25, "directories[0].limits.max_group_deletions", "expected a count (500) or a share (10%)"),
            ("password_file: password", "password_file: missing-file", 10, "directories[0].bind.password_file", "cannot read"),
            ("flavour: openldap", "flavour: novell", 11, "directories[0].flavour", "expected auto, openldap or activedirectory"),
            ("url: ldaps://ldap.example.com:636", "url: http://ldap.example.com", 5, "directories[0].url", "expected an ldap://, ldaps:// or ldapi:// URL"),
            ("scope: one", "scope: base", 16, "directories[0].users.scope", "expected sub or one"),
            ("filter: (&(objectClass=inetOrgPerson)(!(employeeType=robot)))", "filter: (&(objectClass=inetOrgPerson)", 17, "directories[0].users.filter", "missing \")\""),
            ("base: ou=people,dc=example,dc=com", "base: ou=people,,dc=example", 15, "directories[0].users.base", "not a valid DN"),
            ("every: 30m", "every: 30m\n      at: [\"08:00\"]", 27, "directories[0].schedule", "either every or at"),
            ("verify: true", "verify: maybe", 7, "directories[0].tls.verify", "expected true or false"),
            ("method: usn", "method: polling", 30, "directories[0].incremental.method", "expected one of auto, off, dirsync, usn, syncrepl"),
            ("jitter: 2m", "jitter: 2m\n      batch_window: 1h", 29, "directories[0].schedule.batch_window", "longer than 10m"),
            ("jitter: 2m", "jitter: 2m\n      watch: true", 29, "directories[0].schedule.watch", "incremental.method is usn"),
            ("full_every: 12h", "full_every: 10s", 31, "directories[0].incremental.full_every", "too often"),
            ("full_every: 12h", "full_every: 12h\n      access_log: accesslog", 32, "directories[0].incremental.access_log", "not a valid DN"),
            ("full_every: 12h", "full_every: 12h\n      access_log: cn=accesslog", 32, "directories[0].incremental.access_log", "incremental.method is usn"),
        ])
    func mistakes(original: String, replacement: String, line: Int, keyPath: String, message: String) throws {
        let text = Self.valid.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.valid)
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(text, file: Self.file) }
        #expect(error.keyPath == keyPath)
        #expect(error.line == line)
        #expect(error.message.contains(message), "\(error)")
        #expect(error.description.hasPrefix("\(Self.file):\(line): \(keyPath): "))
    }

    @Test("a bind without a secret source, or with a password in the file, is refused")
    func secrets() throws {
        let inline = Self.valid.replacingOccurrences(of: "password_file: password", with: "password: hunter2")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(inline, file: Self.file) }
        #expect(error.message.contains("unknown key \"password\""))
        let env = Self.valid.replacingOccurrences(of: "password_file: password", with: "password_env: GROUPSYNC_TEST_UNSET_VARIABLE")
        let envError = try #require(throws: ConfigError.self) { try ConfigLoader.parse(env, file: Self.file) }
        #expect(envError.message == "the environment variable GROUPSYNC_TEST_UNSET_VARIABLE is not set")
    }

    @Test("invalid YAML, an empty file, a missing required key, duplicates and aliases")
    func structure() throws {
        let broken = try #require(throws: ConfigError.self) { try ConfigLoader.parse("store:\n  path: [unclosed\n", file: Self.file) }
        #expect(broken.message.hasPrefix("invalid YAML"))
        #expect(broken.line != nil)
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("", file: Self.file) }
        let missing = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse(Self.valid.replacingOccurrences(of: "    users:\n      base: ou=people,dc=example,dc=com\n      scope: one\n", with: "    users:\n      scope: one\n"), file: Self.file)
        }
        #expect(missing.message == "the key \"base\" is required")
        #expect(missing.keyPath == "directories[0].users")
        let twice = Self.valid + "\n  - name: corp\n    url: ldap://b\n    users: {base: dc=b}\n    groups: {base: dc=b}\n"
        #expect(try #require(throws: ConfigError.self) { try ConfigLoader.parse(twice, file: Self.file) }.message.contains("two directories are named \"corp\""))
        let alias = "store: &s\n  path: a.sqlite\ndirectories: *s\n"
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(alias, file: Self.file) }
    }

    @Test("durations", arguments: [("30s", 30), ("5m", 300), ("2h", 7200), ("1h30m", 5400), ("1d", 86400)])
    func durations(text: String, seconds: Int64) throws {
        let config = try ConfigLoader.parse(Self.valid.replacingOccurrences(of: "timeout: 1m30s", with: "timeout: \(text)"), file: Self.file)
        #expect(config.directories[0].timeout == .seconds(seconds))
    }
}
