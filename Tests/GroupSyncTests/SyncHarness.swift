import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import Logging
import SyncConfig
import SyncCore
import SyncStore
import Testing

extension Tag {
    @Tag static var slapd: Self
}

/// A throwaway slapd, a config file pointing at it, and a store in a temporary folder.
final class SyncHarness: Sendable {
    let directory: TestDirectory
    let folder: URL
    let configPath: String
    let config: GroupSyncConfig
    let store: any SnapshotStore
    /// With the PostgreSQL store: the test server's database.
    let postgresURL: String?

    /// Which store a harness syncs into.
    enum Backend: String, CustomStringConvertible, CaseIterable {
        case sqlite, postgres
        var description: String { rawValue }
    }

    static let people = "ou=people,dc=example,dc=com"
    static let groups = "ou=groups,dc=example,dc=com"

    /// `directoryExtra` is added to the directory's keys (indented by the caller), `extra` after the directories.
    init(
        fixture: DirectoryFixture, limits: [String: String] = [:], usersBase: String = people, pageSize: Int = 1000,
        timeout: String = "5s", directoryExtra: String = "", extra: String = "", backend: Backend = .sqlite
    ) async throws {
        directory = try await TestDirectory.start(fixture)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writeSecret(DirectoryFixture.servicePassword + "\n", to: folder.appendingPathComponent("ldap-password"))
        configPath = folder.appendingPathComponent("groupsync.yaml").path
        var text = Self.configText(directory: directory, usersBase: usersBase, pageSize: pageSize, limits: limits, timeout: timeout)
        if backend == .postgres {
            let (_, url, passwordFile) = try await SharedTestPostgres.shared.freshDatabase()
            text = text.replacingOccurrences(of: "store:\n  path: var/groupsync.sqlite\n", with: """
                store:
                  postgres:
                    url: \(url)
                    password_file: \(passwordFile)
                    tls:
                      mode: disable

                """)
            postgresURL = url
        } else {
            postgresURL = nil
        }
        try (text + directoryExtra + extra).write(toFile: configPath, atomically: true, encoding: .utf8)
        config = try ConfigLoader.load(path: configPath)
        store = try config.store.open()
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }

    static func configText(directory: TestDirectory, usersBase: String, pageSize: Int, limits: [String: String], timeout: String = "5s") -> String {
        let limitLines = limits.isEmpty ? "" : "    limits:\n" + limits.sorted { $0.key < $1.key }.map { "      \($0.key): \($0.value)\n" }.joined()
        return """
        store:
          path: var/groupsync.sqlite
        directories:
          - name: corp
            url: \(directory.ldapURL)
            start_tls: true
            tls:
              ca_file: \(directory.caFile)
            bind:
              dn: \(DirectoryFixture.serviceDN)
              password_file: ldap-password
            page_size: \(pageSize)
            timeout: \(timeout)
            users:
              base: \(usersBase)
              filter: (objectClass=inetOrgPerson)
            groups:
              base: \(groups)

        """ + limitLines
    }

    @discardableResult
    func sync(
        dryRun: Bool = false, force: Bool = false, full: Bool = false, progress: (@Sendable (String, DirectoryReader.Progress) -> Void)? = nil
    ) async throws -> RunReport {
        let runner = SyncRunner(config: config, store: store, logger: quietLogger)
        let reports = try await runner.run(SyncRequest(dryRun: dryRun, force: force, full: full), progress: progress)
        try #require(reports.count == 1)
        return reports[0]
    }

    func snapshot() throws -> Snapshot { try store.snapshot(directory: "corp") }

    func recordedChanges(_ report: RunReport) throws -> [String] {
        try store.changes(runID: try #require(report.run.id)).map(\.summary)
    }

    /// The stable id the directory gave an entry.
    func entryUUID(_ dn: String) async throws -> String {
        let session = try await LDAPSession.connect(directory.options())
        let entry = try #require(try await session.searchAll(LDAPSearchRequest(base: dn, scope: .base, attributes: ["entryUUID"])).entries.first)
        return try #require(entry.string("entryUUID")).lowercased()
    }
}

/// Logs only what is critical, so test output stays readable.
let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// The scenario directory: people, groups with nested and escaped members.
enum SyncFixture {
    static func people(_ uid: String, _ name: String) -> LDIFEntry { DirectoryFixture.person(uid, name: name) }

    static var standard: DirectoryFixture {
        var entries = DirectoryFixture.skeleton()
        entries.append(LDIFEntry(dn: "ou=sales,ou=people,dc=example,dc=com", [("objectClass", "organizationalUnit"), ("ou", "sales")]))
        entries += [
            people("alice", "Alice Archer"), people("bob", "Bob Baker"), people("carol", "Carol Clark"),
            people("dave", "Dave Dunn"), people("erin", "Erin Evans"),
            LDIFEntry(dn: #"cn=Smith\, John+uid=js,ou=people,dc=example,dc=com"#, [
                ("objectClass", "inetOrgPerson"), ("cn", "Smith, John"), ("uid", "js"), ("sn", "Smith"), ("mail", "js@example.com"),
            ]),
        ]
        entries += [
            DirectoryFixture.group("finance", members: ["uid=alice,ou=people,dc=example,dc=com", "UID=BOB,OU=People,DC=Example,DC=com"]),
            DirectoryFixture.group("sales", members: ["uid=carol,ou=people,dc=example,dc=com", #"uid=js+cn=SMITH\2c JOHN,ou=people,dc=example,dc=com"#]),
            DirectoryFixture.group("staff", members: ["uid=dave,ou=people,dc=example,dc=com"]),
            LDIFEntry(dn: "cn=posix-ops,ou=groups,dc=example,dc=com", [
                ("objectClass", "posixGroup"), ("cn", "posix-ops"), ("gidNumber", "5000"), ("memberUid", "erin"), ("memberUid", "ghost-uid"),
            ]),
        ]
        return DirectoryFixture(entries: entries)
    }
}
