import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import SyncCore
import SyncStore
import Testing

/// Incremental runs against a real slapd with the syncprov overlay (RFC 4533).
@Suite("OpenLDAP incremental runs through content synchronization", .tags(.slapd))
struct ContentSyncTests {
    static let limits = ["max_membership_deletions": "100%", "max_user_deletions": "100%", "max_group_deletions": "100%"]

    /// The store of a full sync of the harness's directory into an empty store.
    func fullSnapshot(_ harness: SyncHarness) async throws -> Snapshot {
        let store = try Store(path: harness.folder.appendingPathComponent("reference-\(UUID().uuidString.prefix(6))/groupsync.sqlite").path)
        let report = try #require(try await SyncRunner(config: harness.config, store: store, logger: quietLogger).run(SyncRequest(full: true)).first)
        #expect(report.run.outcome == .applied)
        return try store.snapshot(directory: "corp")
    }

    @Test("each kind of change, then one incremental run: exactly those changes, the same store as a full sync", arguments: SyncHarness.Backend.allCases)
    func changes(backend: SyncHarness.Backend) async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, limits: Self.limits, backend: backend)
        var report = try await harness.sync()
        #expect(report.run.mode == .full && report.run.outcome == .applied)
        #expect(try harness.store.syncState(directory: "corp")?.method == "syncrepl")

        report = try await harness.sync()
        #expect(report.run.mode == .incremental && report.run.outcome == .noChanges, "\(report.run.message ?? "")")
        let runsBefore = try harness.store.runs(limit: 100).count

        try harness.directory.add([DirectoryFixture.person("frank", name: "Frank Fox")])
        try harness.directory.modify("""
            dn: uid=carol,ou=people,dc=example,dc=com
            changetype: modify
            replace: mail
            mail: carol.clark@example.com

            dn: uid=dave,ou=people,dc=example,dc=com
            changetype: modrdn
            newrdn: uid=dave
            deleteoldrdn: 1
            newsuperior: ou=sales,ou=people,dc=example,dc=com

            dn: uid=erin,ou=people,dc=example,dc=com
            changetype: delete

            dn: cn=finance,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=frank,ou=people,dc=example,dc=com
            -
            delete: member
            member: uid=alice,ou=people,dc=example,dc=com

            dn: cn=sales,ou=groups,dc=example,dc=com
            changetype: modrdn
            newrdn: cn=sales-team
            deleteoldrdn: 1

            dn: cn=staff,ou=groups,dc=example,dc=com
            changetype: delete

            dn: cn=auditors,ou=groups,dc=example,dc=com
            changetype: add
            objectClass: groupOfNames
            cn: auditors
            member: cn=finance,ou=groups,dc=example,dc=com

            """)
        report = try await harness.sync()
        #expect(report.run.mode == .incremental && report.run.outcome == .applied, "\(report.run.message ?? "")")
        let changes = Set(try harness.recordedChanges(report))
        #expect(changes.contains("add user frank (uid=frank,ou=people,dc=example,dc=com)"), "\(changes)")
        #expect(changes.contains("remove user erin (uid=erin,ou=people,dc=example,dc=com)"), "\(changes)")
        let counts = report.run.counts
        #expect(counts.users.added == 1 && counts.users.removed == 1 && counts.users.changed == 2, "carol's mail, dave's DN: \(counts)")
        #expect(counts.groups.added == 1 && counts.groups.removed == 1 && counts.groups.changed == 1, "auditors, staff, sales: \(counts)")
        #expect(try await harness.snapshot() == fullSnapshot(harness))
        #expect(try harness.store.runs(limit: 100).count == runsBefore + 1)

        // Nothing more: the next run writes nothing, and a full one agrees.
        report = try await harness.sync()
        #expect(report.run.mode == .incremental && report.run.outcome == .noChanges, "\(report.run.message ?? "")")
        let full = try #require(try await SyncRunner(config: harness.config, store: harness.store, logger: quietLogger).run(SyncRequest(full: true)).first)
        #expect(full.run.mode == .full && full.run.outcome == .noChanges, "\(full.run.message ?? "")")
    }

    @Test("a cookie the server rejects, and a changed configuration, make the run full and correct")
    func rejectedCookie() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, limits: Self.limits)
        try await harness.sync()
        var state = try #require(try harness.store.syncState(directory: "corp"))
        state.cookie = Array("rid=000,csn=20000101000000.000000Z#000000#000#000000".utf8)
        try harness.store.saveSyncState(state, directory: "corp")
        try harness.directory.delete("uid=bob,ou=people,dc=example,dc=com")
        var report = try await harness.sync()
        #expect(report.run.outcome == .applied && report.run.counts.users.removed == 1, "\(report.run.message ?? "")")
        #expect(try await harness.snapshot() == fullSnapshot(harness))

        state = try #require(try harness.store.syncState(directory: "corp"))
        state.cookie = Array("not a cookie".utf8)
        try harness.store.saveSyncState(state, directory: "corp")
        report = try await harness.sync()
        #expect(report.run.mode == .full && report.run.outcome == .noChanges, "\(report.run.message ?? "")")
        #expect(report.run.message?.hasPrefix("full run: ") == true, "the reason is recorded: \(report.run.message ?? "")")
        report = try await harness.sync()
        #expect(report.run.mode == .incremental, "the full run took a new position")

        // Another filter: the position says nothing about what it now selects.
        let text = try String(contentsOfFile: harness.configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "filter: (objectClass=inetOrgPerson)", with: "filter: (&(objectClass=inetOrgPerson)(!(uid=carol)))")
            .write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        let narrowed = try ConfigLoader.load(path: harness.configPath)
        report = try #require(try await SyncRunner(config: narrowed, store: harness.store, logger: quietLogger).run(SyncRequest(force: true)).first)
        #expect(report.run.mode == .full && report.run.counts.users.removed == 1, "\(report.run.message ?? "")")
    }

    @Test("slapd restarted (its session log gone): the present phase finds deletions; down during a run: nothing lost")
    func restarts() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, limits: Self.limits)
        try await harness.sync()
        try harness.directory.add([DirectoryFixture.person("frank", name: "Frank Fox")])
        await harness.directory.stop()
        try await harness.directory.restart()
        try harness.directory.delete("uid=alice,ou=people,dc=example,dc=com")
        var report = try await harness.sync()
        #expect(report.run.mode == .incremental && report.run.outcome == .applied, "\(report.run.message ?? "")")
        #expect(report.run.counts.users.added == 1 && report.run.counts.users.removed == 1, "\(report.run.counts)")
        #expect(try await harness.snapshot() == fullSnapshot(harness))

        // The server is down: the run fails and keeps the position. The next run reads the
        // whole directory (removals after a failed run are not trusted to a batch), then the
        // feed takes over again.
        let position = try harness.store.syncState(directory: "corp")
        try harness.directory.delete("uid=bob,ou=people,dc=example,dc=com")
        await harness.directory.stop()
        report = try await harness.sync()
        #expect(report.run.outcome == .failed)
        #expect(try harness.store.syncState(directory: "corp") == position)
        try await harness.directory.restart()
        report = try await harness.sync()
        #expect(report.run.mode == .full && report.run.counts.users.removed == 1, "\(report.run.message ?? "")")
        #expect(report.run.message?.contains("removals are held until a run that reads the whole directory applies") == true)
        #expect(try await harness.snapshot() == fullSnapshot(harness))
        try harness.directory.delete("uid=carol,ou=people,dc=example,dc=com")
        report = try await harness.sync()
        #expect(report.run.mode == .incremental && report.run.counts.users.removed == 1, "\(report.run.message ?? "")")
        #expect(try await harness.snapshot() == fullSnapshot(harness))
    }

    @Test("a server without syncprov: every run is full, and status says so")
    func noSyncProvider() async throws {
        var fixture = SyncFixture.standard
        fixture.syncProvider = false
        let harness = try await SyncHarness(fixture: fixture, limits: Self.limits)
        try await harness.sync()
        #expect(try harness.store.syncState(directory: "corp") == nil)
        let report = try await harness.sync()
        #expect(report.run.mode == .full && report.run.outcome == .noChanges)
        let status = try StatusAnswer.fromStore(harness.store, config: harness.config)
        #expect(status.directories.first?.incremental?.method == "none")
    }
}
