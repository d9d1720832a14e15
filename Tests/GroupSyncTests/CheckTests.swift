import Foundation
import GroupSync
import LDAPTestSupport
import Logging
import SyncConfig
import Testing

/// `groupsync check` against a real slapd: every step, and each kind of failure at its step.
@Suite("groupsync check: the connection step by step", .tags(.slapd))
struct CheckTests {
    /// A configuration for the directory, with `change` applied to its text.
    func config(_ directory: TestDirectory, folder: URL, url: String? = nil, caFile: String? = nil, password: String = DirectoryFixture.servicePassword,
                usersBase: String = "ou=people,dc=example,dc=com") throws -> GroupSyncConfig {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writeSecret(password + "\n", to: folder.appendingPathComponent("password"))
        let path = folder.appendingPathComponent("groupsync.yaml").path
        try """
            store:
              path: var/groupsync.sqlite
            directories:
              - name: corp
                url: \(url ?? directory.ldapsURL)
                tls:
                  ca_file: \(caFile ?? directory.caFile)
                bind:
                  dn: \(DirectoryFixture.serviceDN)
                  password_file: password
                timeout: 3s
                users:
                  base: \(usersBase)
                groups:
                  base: ou=groups,dc=example,dc=com
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return try ConfigLoader.load(path: path)
    }

    func checkSteps(_ config: GroupSyncConfig) async -> [String: CheckAnswer.Step] {
        let answer = await ConnectionChecker(config: config, logger: quietLogger).run()
        return Dictionary(uniqueKeysWithValues: (answer.directories.first?.steps ?? []).map { ($0.name, $0) })
    }

    @Test("against the test slapd over LDAPS every step passes, with the TLS details and counts")
    func allPass() async throws {
        let directory = try await TestDirectory.start(SyncFixture.standard)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-check-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try config(directory, folder: folder)
        let answer = await ConnectionChecker(config: config, logger: quietLogger).run()
        #expect(answer.passed, "\(answer.text)")
        let steps = Dictionary(uniqueKeysWithValues: (answer.directories.first?.steps ?? []).map { ($0.name, $0) })
        #expect(steps.keys.sorted() == ["bind", "connect", "groups", "groups base", "resolve", "root DSE", "secret", "tls", "users", "users base"])
        // The test CA's certificates live three days: within 30 days of expiry, a warning.
        #expect(steps["tls"]?.status == .warn && steps["tls"]?.hint?.contains("expires in") == true, "\(steps["tls"]?.hint ?? "")")
        #expect(steps["tls"]?.detail.contains("TLS1.") == true && steps["tls"]?.detail.contains("issued by CN=groupsync test CA") == true)
        #expect(steps["tls"]?.detail.contains("names 127.0.0.1") == true, "\(steps["tls"]?.detail ?? "")")
        #expect(steps["root DSE"]?.detail.contains("content synchronization") == true)
        #expect(steps["users"]?.detail.hasPrefix("6 users") == true, "\(steps["users"]?.detail ?? "")")
        #expect(answer.store.status == .pass)
    }

    @Test("incremental.access_log: readable with records, empty, or a wrong suffix (a warning: runs go on without it)")
    func accessLog() async throws {
        let directory = try await TestDirectory.start(SyncFixture.standard)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-check-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = try config(directory, folder: folder)
        config.directories[0].incremental.accessLog = "cn=accesslog"
        let empty = try #require(await checkSteps(config)["access log"])
        #expect(empty.status == .warn && empty.detail.contains("holds no write records"), "\(empty)")
        try directory.modify("dn: \(DirectoryFixture.serviceDN)\nchangetype: modify\nreplace: description\ndescription: one\n")
        let one = try #require(await checkSteps(config)["access log"])
        #expect(one.status == .pass && one.detail.hasPrefix("cn=accesslog readable (write records from 20"), "\(one)")
        try directory.modify("dn: \(DirectoryFixture.serviceDN)\nchangetype: modify\nreplace: description\ndescription: two\n")
        #expect(try #require(await checkSteps(config)["access log"]).status == .pass)
        config.directories[0].incremental.accessLog = "cn=auditlog"
        let wrong = try #require(await checkSteps(config)["access log"])
        #expect(wrong.status == .warn && wrong.detail.contains("cn=auditlog") && wrong.hint?.contains("no entry with that DN") == true, "\(wrong)")
    }

    @Test("wrong password, wrong CA, wrong host name, wrong base DN, server down: each fails at its step")
    func failures() async throws {
        let directory = try await TestDirectory.start(SyncFixture.standard)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-check-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }

        var steps = await checkSteps(try config(directory, folder: folder.appendingPathComponent("password"), password: "wrong"))
        #expect(steps["bind"]?.status == .fail && steps["bind"]?.detail.contains("49") == true, "\(steps["bind"]?.detail ?? "")")
        #expect(steps["bind"]?.hint?.contains("wrong bind.dn or password") == true)
        #expect(steps["tls"]?.status != .fail && steps["root DSE"]?.status == .skip)

        try FileManager.default.createDirectory(at: folder.appendingPathComponent("other-ca"), withIntermediateDirectories: true)
        let otherCA = try TestCertificates.make(in: folder.appendingPathComponent("other-ca"))
        steps = await checkSteps(try config(directory, folder: folder.appendingPathComponent("ca"), caFile: otherCA.caFile))
        #expect(steps["connect"]?.status == .pass && steps["tls"]?.status == .fail, "\(steps["tls"]?.detail ?? "")")
        #expect(steps["tls"]?.hint?.contains("certificate") == true && steps["bind"]?.status == .skip)

        steps = await checkSteps(try config(directory, folder: folder.appendingPathComponent("host"), url: "ldaps://no-such-host.invalid:636"))
        #expect(steps["resolve"]?.status == .fail && steps["connect"]?.status == .skip, "\(steps["resolve"]?.detail ?? "")")

        steps = await checkSteps(try config(directory, folder: folder.appendingPathComponent("base"), usersBase: "ou=peeple,dc=example,dc=com"))
        #expect(steps["users base"]?.status == .fail && steps["users base"]?.detail.contains("ou=peeple") == true)
        #expect(steps["users base"]?.hint?.contains("dc=example,dc=com") == true, "the matched DN: \(steps["users base"]?.hint ?? "")")
        #expect(steps["groups base"]?.status == .pass)

        await directory.stop()
        steps = await checkSteps(try config(directory, folder: folder.appendingPathComponent("down")))
        #expect(steps["resolve"]?.status == .pass && steps["connect"]?.status == .fail, "\(steps["connect"]?.detail ?? "")")
        #expect(steps["connect"]?.detail.contains("refused") == true)
    }

    @Test("check --json: the shape scripts read; exit 0 when every step passes, 1 when one fails, 2 for usage")
    func commandLine() async throws {
        let directory = try await TestDirectory.start(SyncFixture.standard)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-check-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try config(directory, folder: folder)
        let path = folder.appendingPathComponent("groupsync.yaml").path

        let passed = try CLITests.run(["check", "--json", "--config", path])
        #expect(passed.status == 0, "\(passed.stdout)\(passed.stderr)")
        let json = try #require(passed.json)
        #expect(json["config"] as? String == path)
        let corp = try #require((json["directories"] as? [[String: Any]])?.first)
        #expect(corp["name"] as? String == "corp" && corp["url"] as? String == directory.ldapsURL)
        let steps = try #require(corp["steps"] as? [[String: Any]])
        #expect(steps.map { $0["name"] as? String ?? "" } == ["secret", "resolve", "connect", "tls", "bind", "root DSE", "users base", "users", "groups base", "groups"])
        #expect(steps.allSatisfy { ["pass", "warn"].contains($0["status"] as? String ?? "") && $0["detail"] is String })
        #expect((json["store"] as? [String: Any])?["status"] as? String == "pass")

        await directory.stop()
        let failed = try CLITests.run(["check", "--config", path])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("✘ connect") && failed.stdout.contains("some checks failed"), "\(failed.stdout)")
        let usage = try CLITests.run(["check", "--directory", "nope", "--config", path])
        #expect(usage.status == 2 && usage.stderr.contains("no directory named \"nope\""))
    }

    @Test("--version names the build and the libldap and SQLite it runs with")
    func version() throws {
        let result = try CLITests.run(["--version"])
        #expect(result.status == 0)
        let line = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.wholeMatch(of: try Regex(#"groupsync \S+ \(libldap: OpenLDAP \d+\.\d+\.\d+; SQLite \d+\.\d+\.\d+\)"#)) != nil, "\(line)")
        // The libldap version is the one installed, not a constant.
        let installed = try runCommand("dpkg-query", ["-W", "-f=${Version}", "libldap-2.5-0"])
        #expect(installed.hasPrefix(line.split(separator: " ")[4].trimmingCharacters(in: CharacterSet(charactersIn: ";"))), "\(installed) vs \(line)")
    }
}
