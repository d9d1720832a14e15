import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import SyncCore
import SyncStore
import Testing

@Suite("Sync safety: dry run, limits, empty results, failures", .tags(.slapd))
struct SyncSafetyTests {
    @Test("a dry run records its plan and writes nothing to the snapshot")
    func dryRun() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard)
        let report = try await harness.sync(dryRun: true)
        #expect(report.run.outcome == .dryRun)
        #expect(report.run.counts.users.added == 6)
        #expect(try harness.snapshot().isEmpty)
        #expect(try harness.store.totals(directory: "corp") == RunRecord.Totals())
        #expect(try harness.recordedChanges(report).contains("add user alice (uid=alice,ou=people,dc=example,dc=com)"))
        // The real run then applies exactly that plan.
        #expect(try await harness.sync().run.counts == report.run.counts)
    }

    @Test("a plan over a limit stops, applies nothing, and says why; --force applies it")
    func limitAndForce() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, limits: ["max_membership_deletions": "1", "max_group_deletions": "100%"])
        try await harness.sync()
        let before = try harness.snapshot()
        try harness.directory.modify("dn: cn=sales,ou=groups,dc=example,dc=com\nchangetype: delete\n")
        let stopped = try await harness.sync()
        #expect(stopped.run.outcome == .stoppedByLimit)
        #expect(stopped.run.message?.contains("would remove 2 of 6 memberships, over max_membership_deletions = 1 (at most 1)") == true)
        #expect(stopped.run.message?.contains("--force") == true)
        #expect(try harness.snapshot() == before)
        #expect(try harness.recordedChanges(stopped).filter { $0.hasPrefix("remove ") }.count == 3)

        let forced = try await harness.sync(force: true)
        #expect(forced.run.outcome == .applied)
        #expect(forced.run.counts.memberships.removed == 2)
        #expect(try harness.snapshot().membershipCount == 4)
    }

    @Test("a share limit counts against what the store holds")
    func shareLimit() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, limits: ["max_user_deletions": "20%", "max_membership_deletions": "100%"])
        try await harness.sync()
        try harness.directory.modify("dn: uid=dave,ou=people,dc=example,dc=com\nchangetype: delete\n")
        #expect(try await harness.sync().run.outcome == .applied)  // 1 of 6 ≤ 20%
        try harness.directory.modify("dn: uid=erin,ou=people,dc=example,dc=com\nchangetype: delete\n\ndn: uid=carol,ou=people,dc=example,dc=com\nchangetype: delete\n")
        let stopped = try await harness.sync()  // 2 of 5 > 20%
        #expect(stopped.run.outcome == .stoppedByLimit)
        #expect(stopped.run.message?.contains("would remove 2 of 5 users, over max_user_deletions = 20% (at most 1)") == true)
    }

    @Test("a base DN typo fails the run and keeps every user")
    func baseTypo() async throws {
        let good = try await SyncHarness(fixture: SyncFixture.standard)
        try await good.sync()
        var config = good.config
        config.directories[0].users.base = "ou=peeple,dc=example,dc=com"
        let runner = SyncRunner(config: config, store: good.store, logger: quietLogger)
        let report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.outcome == .failed)
        #expect(report.run.message?.contains("No such object (result code 32)") == true)
        #expect(report.run.message?.contains("ou=peeple,dc=example,dc=com") == true)
        #expect(try good.snapshot().users.count == 6)
    }

    @Test("a search that returns no users while the store has users always stops, even forced")
    func emptyResult() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, usersBase: "ou=sales,ou=people,dc=example,dc=com")
        // First fill the store through the right base, then point at the empty OU.
        var config = harness.config
        config.directories[0].users.base = SyncHarness.people
        _ = try await SyncRunner(config: config, store: harness.store, logger: quietLogger).run(SyncRequest())
        #expect(try harness.snapshot().users.count == 6)
        for force in [false, true] {
            let report = try await harness.sync(force: force)
            #expect(report.run.outcome == .stoppedByLimit)
            #expect(report.run.message?.contains("returned no users, but the store holds 6") == true)
            #expect(try harness.snapshot().users.count == 6)
        }
    }

    @Test("the server stopped mid-search: the run fails, the store is unchanged, the next sync works")
    func serverStoppedMidSearch() async throws {
        let fixture = DirectoryFixture(entries: DirectoryFixture.people(3000).entries + [
            DirectoryFixture.group("everyone", members: (0..<3000).map { String(format: "uid=user%04d,ou=people,dc=example,dc=com", $0) }),
        ])
        // A full read (incremental runs would read only the newcomer).
        let harness = try await SyncHarness(fixture: fixture, pageSize: 100, directoryExtra: "    incremental:\n      method: off\n")
        try await harness.sync()
        let before = try harness.snapshot()
        #expect(before.users.count == 3000)
        try harness.directory.add([DirectoryFixture.person("newcomer")])
        let directory = harness.directory
        let report = try await harness.sync { _, progress in
            if progress.entries >= 1000 { directory.signalNow(SIGKILL) }
        }
        #expect(report.run.outcome == .failed)
        #expect(report.run.message?.contains("search") == true)
        #expect(try harness.snapshot() == before)
        #expect(try harness.store.runs(limit: 1).first?.outcome == .failed)

        await directory.kill(SIGKILL)
        try await directory.restart()
        let next = try await harness.sync()
        #expect(next.run.outcome == .applied)
        #expect(try harness.recordedChanges(next) == ["add user newcomer (uid=newcomer,ou=people,dc=example,dc=com)"])
    }

    @Test("an unreachable directory fails the run with the connection error and keeps the store")
    func unreachable() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard)
        try await harness.sync()
        await harness.directory.stop()
        let report = try await harness.sync()
        #expect(report.run.outcome == .failed)
        #expect(report.run.message?.contains("cannot connect to \(harness.directory.ldapURL)") == true)
        #expect(try harness.snapshot().users.count == 6)
    }

    @Test("two syncs against one store never interleave: the second is refused while the first holds the lock")
    func lock() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard)
        do {
            let held = try harness.store.runLock(directories: ["corp"])
            let error = try await #require(throws: SyncError.self) { try await harness.sync() }
            #expect("\(error)".contains("another sync is running against this store (process \(getpid()))"))
            #expect(try harness.store.runs().isEmpty)
            withExtendedLifetime(held) {}
        }
        #expect(try await harness.sync().run.outcome == .applied)
    }
}
