import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import SyncCore
import SyncStore
import Testing

/// Full runs on a server without syncprov read users as headers (id, username, entryCSN)
/// and fetch whole only the users whose marker moved; `UnchangedGroupsTests` checks each
/// scenario against `--full`, these the markers themselves.
@Suite("Reading unchanged users as headers", .tags(.slapd))
struct UnchangedUsersTests {
    static let off = "    incremental:\n      method: off\n"

    /// The usernames a run read whole.
    static func readWhole(_ report: RunReport) throws -> Set<String> {
        let wanted = try #require(report.compared?.wanted)
        return Set(wanted.users.values.compactMap(\.username))
    }

    @Test("a change groupsync does not map moves the marker: recorded without a change, and read whole no more",
          arguments: SyncHarness.Backend.allCases)
    func markerOnly(backend: SyncHarness.Backend) async throws {
        let harness = try await SyncHarness(
            fixture: SyncFixture.standard, limits: ["max_user_deletions": "100%", "max_membership_deletions": "100%"], directoryExtra: Self.off, backend: backend)
        try await harness.sync()

        try harness.directory.modify("""
            dn: uid=alice,ou=people,dc=example,dc=com
            changetype: modify
            replace: userPassword
            userPassword: a-new-password

            """)
        let moved = try await harness.sync()
        #expect(moved.run.outcome == .noChanges)
        #expect(try Self.readWhole(moved) == ["alice"])
        let again = try await harness.sync()
        #expect(again.run.outcome == .noChanges)
        #expect(try Self.readWhole(again) == [], "alice's new marker was recorded by the run that changed nothing")

        // A user deleted: no one is read whole, the user is removed, the others stay.
        let before = try harness.snapshot()
        try harness.directory.delete("uid=erin,ou=people,dc=example,dc=com")
        let deleted = try await harness.sync()
        #expect(deleted.run.outcome == .applied)
        #expect(try Self.readWhole(deleted) == [])
        #expect(deleted.plan?.usersRemoved.map(\.username) == ["erin"])
        #expect(deleted.plan?.usersAdded.isEmpty == true && deleted.plan?.usersChanged.isEmpty == true)
        let after = try harness.snapshot()
        #expect(after.users.count == before.users.count - 1)
        #expect(after.users.values.allSatisfy { before.users[$0.id] == $0 })

        // The report names users that were only read as headers.
        try harness.directory.modify("""
            dn: cn=staff,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=bob,ou=people,dc=example,dc=com

            """)
        let joined = try await harness.sync()
        #expect(try Self.readWhole(joined) == [])
        #expect(try harness.recordedChanges(joined).contains("add bob to group staff"))
    }

    @Test("after the attribute mapping changes, every user is read whole once and takes the new mapping",
          arguments: SyncHarness.Backend.allCases)
    func mappingChange(backend: SyncHarness.Backend) async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, directoryExtra: Self.off, backend: backend)
        try await harness.sync()
        #expect(try Self.readWhole(try await harness.sync()) == [])

        var config = harness.config
        config.directories[0].attributes.displayName = "sn"
        let runner = SyncRunner(config: config, store: harness.store, logger: quietLogger)
        let remapped = try #require(try await runner.run(SyncRequest()).first)
        #expect(remapped.compared?.wanted.partialUsers == false, "no stored marker matches the new mapping")
        #expect(remapped.plan?.usersChanged.count == remapped.compared?.wanted.userCount)
        #expect(try harness.snapshot().users.values.first { $0.username == "alice" }?.displayName == "Archer")
        let next = try #require(try await runner.run(SyncRequest()).first)
        #expect(next.run.outcome == .noChanges)
        #expect(try Self.readWhole(next) == [])
    }
}

extension UnchangedUsersTests {
    @Test("a change marker users and groups lack: every entry is read whole, without header passes, and the runs are right")
    func noMarker() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, directoryExtra: Self.off)
        var config = harness.config
        config.directories[0].attributes.changeMarker = "employeeNumber"
        let log = RecordingLog()
        let runner = SyncRunner(config: config, store: harness.store, logger: log.logger)
        let first = try #require(try await runner.run(SyncRequest()).first)
        #expect(first.run.outcome == .applied)
        log.clear()
        let again = try #require(try await runner.run(SyncRequest()).first)
        #expect(again.run.outcome == .noChanges)
        #expect(again.compared?.wanted.partialUsers == false)
        #expect(log.messages.contains("users read whole: the first has no change marker"), "the header pass stopped at once")
        #expect(!log.messages.contains("users read"), "no user was compared by marker")
        #expect(log.messages.contains("groups read whole: the first has no change marker"), "the group header pass stopped at once")
        #expect(!log.messages.contains("groups read"), "no group was compared by marker")
        #expect(again.compared?.wanted.users.count == first.compared?.wanted.users.count)
        try harness.directory.modify("""
            dn: uid=carol,ou=people,dc=example,dc=com
            changetype: modify
            replace: mail
            mail: carol.c@example.com

            """)
        let changed = try #require(try await runner.run(SyncRequest()).first)
        #expect(changed.plan?.usersChanged.map(\.after.username) == ["carol"])
        try harness.directory.modify("""
            dn: cn=staff,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=carol,ou=people,dc=example,dc=com

            """)
        let joined = try #require(try await runner.run(SyncRequest()).first)
        #expect(joined.plan?.membershipsAdded.count == 1)
        #expect(joined.plan?.changes.map(\.summary).first == "add carol to group staff")
    }
}
