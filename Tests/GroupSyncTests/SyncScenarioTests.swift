import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import SyncCore
import SyncStore
import Testing

@Suite("Sync against a real slapd: each directory change, then a sync and its exact changes", .tags(.slapd))
struct SyncScenarioTests {
    @Test("initial sync, then add, remove, move, rename, nest, cycle, dangling member, re-sync", arguments: SyncHarness.Backend.allCases)
    func scenario(backend: SyncHarness.Backend) async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, limits: [
            "max_user_deletions": "100%", "max_group_deletions": "100%", "max_membership_deletions": "100%",
        ], backend: backend)
        #expect(harness.store.location.hasPrefix("postgres://") == (backend == .postgres))
        let alice = try await harness.entryUUID("uid=alice,ou=people,dc=example,dc=com")
        let finance = try await harness.entryUUID("cn=finance,ou=groups,dc=example,dc=com")

        // Initial sync: 6 people + 2 service accounts are not inetOrgPerson.
        var report = try await harness.sync()
        #expect(report.run.outcome == .applied)
        #expect(report.run.counts.users.added == 6)
        #expect(report.run.counts.groups.added == 4)
        #expect(report.run.counts.memberships.added == 6)
        #expect(report.run.totals == RunRecord.Totals(users: 6, groups: 4, memberships: 6, unresolvedMembers: 1))
        var snapshot = try harness.snapshot()
        let js = try #require(snapshot.users.values.first { $0.username == "js" })
        let sales = try #require(snapshot.groups.values.first { $0.name == "sales" })
        #expect(snapshot.members[sales.id]?.contains(.user(js.id)) == true, "a member value in another case and escaping resolves")
        #expect(snapshot.members[finance]?.count == 2)
        let posix = try #require(snapshot.groups.values.first { $0.name == "posix-ops" })
        #expect(snapshot.members[posix.id] == [.user(try #require(snapshot.users.values.first { $0.username == "erin" }).id)])
        #expect(snapshot.unresolved[posix.id] == ["ghost-uid"])

        // Unchanged directory: no changes, nothing recorded.
        report = try await harness.sync()
        #expect(report.run.outcome == .noChanges)
        #expect(try harness.recordedChanges(report).isEmpty)

        // Add a user.
        try harness.directory.add([DirectoryFixture.person("frank", name: "Frank Fox")])
        report = try await harness.sync()
        #expect(try harness.recordedChanges(report) == ["add user frank (uid=frank,ou=people,dc=example,dc=com)"])

        // Remove a member.
        try harness.directory.modify("""
            dn: cn=finance,ou=groups,dc=example,dc=com
            changetype: modify
            delete: member
            member: uid=bob,ou=people,dc=example,dc=com

            """)
        report = try await harness.sync()
        #expect(try harness.recordedChanges(report) == ["remove bob from group finance", "bob is no longer a member of finance"])

        // Move a user to another OU: one change, same id; refint rewrites the member value.
        try harness.directory.modify("""
            dn: uid=alice,ou=people,dc=example,dc=com
            changetype: modrdn
            newrdn: uid=alice
            deleteoldrdn: 1
            newsuperior: ou=sales,ou=people,dc=example,dc=com

            """)
        report = try await harness.sync()
        #expect(report.run.counts == ChangeCounts(users: .init(changed: 1)))
        #expect(try harness.recordedChanges(report) == [
            "change user alice: dn uid=alice,ou=people,dc=example,dc=com → uid=alice,ou=sales,ou=people,dc=example,dc=com",
        ])
        snapshot = try harness.snapshot()
        #expect(snapshot.users[alice]?.dn == "uid=alice,ou=sales,ou=people,dc=example,dc=com")
        #expect(snapshot.members[finance]?.contains(.user(alice)) == true)

        // Rename a group: one change, same id.
        try harness.directory.modify("""
            dn: cn=finance,ou=groups,dc=example,dc=com
            changetype: modrdn
            newrdn: cn=accounting
            deleteoldrdn: 1

            """)
        report = try await harness.sync()
        #expect(report.run.counts == ChangeCounts(groups: .init(changed: 1)))
        #expect(try harness.recordedChanges(report) == [
            "change group accounting: dn cn=finance,ou=groups,dc=example,dc=com → cn=accounting,ou=groups,dc=example,dc=com; name finance → accounting",
        ])
        #expect(try harness.snapshot().groups[finance]?.name == "accounting")

        // Nest accounting in staff: alice becomes an effective member of staff.
        try harness.directory.modify("""
            dn: cn=staff,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: cn=accounting,ou=groups,dc=example,dc=com

            """)
        report = try await harness.sync()
        #expect(try harness.recordedChanges(report) == [
            "add group accounting to group staff",
            "alice is now a member of staff (directly or through nested groups)",
        ])

        // A cycle: staff into accounting. No hang; dave reaches accounting, everyone counts once.
        try harness.directory.modify("""
            dn: cn=accounting,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: cn=staff,ou=groups,dc=example,dc=com

            """)
        report = try await harness.sync()
        #expect(try harness.recordedChanges(report) == [
            "add group staff to group accounting",
            "dave is now a member of accounting (directly or through nested groups)",
        ])
        snapshot = try harness.snapshot()
        let staff = try #require(snapshot.groups.values.first { $0.name == "staff" })
        let dave = try #require(snapshot.users.values.first { $0.username == "dave" })
        #expect(EffectiveMembership(snapshot).users(of: staff.id) == [alice, dave.id])
        #expect(EffectiveMembership(snapshot).users(of: finance) == [alice, dave.id])

        // A dangling member DN: kept and reported, not dropped.
        try harness.directory.modify("""
            dn: cn=sales,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=nobody,ou=people,dc=example,dc=com

            """)
        report = try await harness.sync()
        #expect(try harness.recordedChanges(report) == [
            "group sales has a member that matches no user or group in scope: uid=nobody,ou=people,dc=example,dc=com",
        ])
        #expect(report.run.totals.unresolvedMembers == 2)

        // And once more: nothing to do.
        #expect(try await harness.sync().run.outcome == .noChanges)
        #expect(try harness.store.runs(limit: 100).count == 10)
    }
}
