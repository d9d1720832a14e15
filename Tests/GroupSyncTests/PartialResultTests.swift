import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import SyncCore
import SyncStore
import Testing

/// Empty and partial results — a base that went away, an OU emptied by mistake, a bind
/// account that lost read rights — stop before any removal and say why; while a directory's
/// last run failed or stopped, removals from the change feed are held too.
@Suite("Empty and partial results stop before any removal", .tags(.slapd))
struct PartialResultTests {
    static let sales = "ou=sales,ou=people,dc=example,dc=com"

    /// 20 people in ou=people, 10 more in ou=sales below it; `everyone` lists all 30, `sales` the ten.
    static var fixture: DirectoryFixture {
        var entries = DirectoryFixture.skeleton()
        entries.append(LDIFEntry(dn: sales, [("objectClass", "organizationalUnit"), ("ou", "sales")]))
        var everyone: [String] = []
        var salesMembers: [String] = []
        for index in 0..<30 {
            var person = DirectoryFixture.person(String(format: "p%02d", index))
            if index >= 20 {
                person.dn = "uid=\(String(format: "p%02d", index)),\(sales)"
                salesMembers.append(person.dn)
            }
            everyone.append(person.dn)
            entries.append(person)
        }
        entries += [DirectoryFixture.group("everyone", members: everyone), DirectoryFixture.group("sales", members: salesMembers)]
        return DirectoryFixture(entries: entries)
    }

    @Test("an OU emptied by mistake stops the run and names the OU; later batches are held; --force applies")
    func emptiedOU() async throws {
        let harness = try await SyncHarness(fixture: Self.fixture, limits: ["max_group_deletions": "100%"])
        try await harness.sync()
        let before = try harness.snapshot()
        #expect(before.users.count == 30)
        for index in 20..<30 { try harness.directory.delete("uid=\(String(format: "p%02d", index)),\(Self.sales)") }

        let stopped = try await harness.sync()
        #expect(stopped.run.outcome == .stoppedByLimit)
        let message = try #require(stopped.run.message)
        #expect(message.contains("would remove 10 of 30 users, over max_user_deletions = 10% (at most 3)"), "\(message)")
        #expect(message.contains("Likely cause: 10 of the 10 users it would remove were under \(Self.sales)"), "\(message)")
        #expect(message.contains("10 of the membership removals empty the group sales"), "\(message)")
        #expect(try harness.snapshot() == before)

        // One more leaver, well within the limits on its own: the change feed would hand it
        // over as a one-user batch, but after a stopped run the run reads everything, and
        // the whole set stays stopped.
        try harness.directory.delete("uid=p00,ou=people,dc=example,dc=com")
        let held = try await harness.sync()
        #expect(held.run.mode == .full)
        #expect(held.run.outcome == .stoppedByLimit)
        #expect(held.run.message?.contains("would remove 11 of 30 users") == true, "\(held.run.message ?? "")")
        #expect(try harness.snapshot() == before)

        let forced = try await harness.sync(force: true)
        #expect(forced.run.outcome == .applied && forced.run.counts.users.removed == 11)
        #expect(try harness.snapshot().users.count == 19)
        // Past the forced run the feed is trusted again.
        try harness.directory.delete("uid=p01,ou=people,dc=example,dc=com")
        let next = try await harness.sync()
        #expect(next.run.mode == .incremental && next.run.outcome == .applied && next.run.counts.users.removed == 1)
    }

    @Test("a users base that no longer exists fails the run, names the base, and keeps every user")
    func baseGone() async throws {
        let harness = try await SyncHarness(fixture: Self.fixture, usersBase: Self.sales)
        try await harness.sync()
        #expect(try harness.snapshot().users.count == 10)
        for index in 20..<30 { try harness.directory.delete("uid=\(String(format: "p%02d", index)),\(Self.sales)") }
        try harness.directory.delete(Self.sales)
        let report = try await harness.sync()
        #expect(report.run.outcome == .failed)
        #expect(report.run.message?.contains("No such object (result code 32)") == true, "\(report.run.message ?? "")")
        #expect(report.run.message?.contains("the users search base \(Self.sales) (users.base) does not exist on the server") == true)
        #expect(report.run.message?.contains("renamed, moved or deleted") == true)
        #expect(try harness.snapshot().users.count == 10)
    }

    /// Access rules are not directory changes: the change feed has nothing to say about them,
    /// and the next full run (`full_every`, `--full`) is the one that reads with the new
    /// rights. These runs are full.
    static let fullRuns = "    incremental:\n      method: off\n"

    @Test("a bind account that can no longer read the users: the search succeeds empty, and the run stops")
    func lostReadRights() async throws {
        let harness = try await SyncHarness(fixture: Self.fixture, directoryExtra: Self.fullRuns)
        try await harness.sync()
        let before = try harness.snapshot()
        // The service account still sees ou=people itself, but nothing below it.
        try harness.directory.setAccess([
            "to dn.children=\"ou=people,dc=example,dc=com\" by dn.exact=\"\(DirectoryFixture.serviceDN)\" none by * read",
            "to * by * read",
        ])
        for force in [false, true] {
            let report = try await harness.sync(force: force)
            #expect(report.run.outcome == .stoppedByLimit)
            #expect(report.run.message?.contains("returned no users, but the store holds 30") == true, "\(report.run.message ?? "")")
            #expect(report.run.message?.contains("that the bind account can still read the users") == true)
        }
        #expect(try harness.snapshot() == before)
    }

    @Test("a bind account that can no longer read member: every group comes back empty, and the run stops")
    func lostMemberRights() async throws {
        let harness = try await SyncHarness(fixture: Self.fixture, directoryExtra: Self.fullRuns)
        try await harness.sync()
        let before = try harness.snapshot()
        try harness.directory.setAccess([
            "to attrs=member by dn.exact=\"\(DirectoryFixture.serviceDN)\" none by * read",
            "to * by * read",
        ])
        // Unchanged groups (entryCSN as before) are not read again; a full run reads them all.
        #expect(try await harness.sync().run.outcome == .noChanges)
        let report = try await harness.sync(full: true)
        #expect(report.run.outcome == .stoppedByLimit)
        let message = try #require(report.run.message)
        #expect(message.contains("would remove 40 of 40 memberships"), "\(message)")
        #expect(message.contains("every group came back without members: the bind account may have lost read access to the member attribute"), "\(message)")
        #expect(try harness.snapshot() == before)
    }

    @Test("a group search that returns no groups while the store has groups stops; --force applies it")
    func noGroups() async throws {
        let harness = try await SyncHarness(
            fixture: Self.fixture, limits: ["max_group_deletions": "100%", "max_membership_deletions": "100%"], directoryExtra: Self.fullRuns)
        try await harness.sync()
        try harness.directory.setAccess([
            "to dn.children=\"ou=groups,dc=example,dc=com\" by dn.exact=\"\(DirectoryFixture.serviceDN)\" none by * read",
            "to * by * read",
        ])
        let report = try await harness.sync()
        #expect(report.run.outcome == .stoppedByLimit)
        #expect(report.run.message?.contains("returned no groups, but the store holds 2") == true, "\(report.run.message ?? "")")
        #expect(try harness.snapshot().groups.count == 2)
        let forced = try await harness.sync(force: true)
        #expect(forced.run.outcome == .applied && forced.run.counts.groups.removed == 2)
    }
}
