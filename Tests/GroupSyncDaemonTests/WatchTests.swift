import Foundation
import GroupSync
import LDAPTestSupport
import SyncStore
import Testing

/// Watch mode against a real slapd with syncprov: `groupsync serve` as a child process.
@Suite("Watch mode: changes reach verify within the batch window", .tags(.slapd))
struct WatchTests {
    static let window = 1.0

    /// Whether the daemon answers that `user` landed in `group`.
    func landed(_ harness: DaemonHarness, _ user: String, _ group: String) async throws -> Bool {
        let response = try await harness.get("/v1/verify?user=\(user)&group=\(group)")
        guard response.status == 200 else { return false }
        let json = try harness.json(response)
        let results = json["results"] as? [[String: Any]] ?? []
        return !results.isEmpty && results.allSatisfy { $0["landed"] as? Bool == true }
    }

    /// Polls until `condition` holds or `bound` seconds pass; returns the seconds it took.
    func within(_ bound: Double, _ condition: () async throws -> Bool) async throws -> Double? {
        let started = ContinuousClock.now
        while true {
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if try await condition() { return seconds }
            if seconds > bound { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("a member added with ldapmodify lands within the window; slapd restarted: reconnect, catch up, nothing lost")
    func watch() async throws {
        let harness = try await DaemonHarness(schedule: "    schedule:\n      watch: true\n      batch_window: \(Int(Self.window))s")
        try await harness.startDaemon()
        #expect(try await harness.eventually { harness.log.contains("watching for changes") }, "\(harness.log)")
        #expect(try harness.store().syncState(directory: "corp")?.method == "syncrepl")
        #expect(try await landed(harness, "alice", "finance"))
        #expect(try await !landed(harness, "dave", "finance"))

        try harness.directory.modify("dn: cn=finance,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=dave,ou=people,dc=example,dc=com\n\n")
        // The window, plus a margin for the run and a loaded CI machine.
        let took = try await within(Self.window + 4) { try await landed(harness, "dave", "finance") }
        #expect(took != nil, "dave did not land within \(Self.window + 4) s: \(harness.log.suffix(2000))")
        let runs = try harness.store().runs(directory: "corp", limit: 10)
        #expect(runs.first?.trigger == .watch && runs.first?.mode == .incremental, "\(runs.map { "\($0.trigger) \($0.mode) \($0.outcome)" })")

        // slapd goes away and comes back; a change made right after it is back still lands.
        await harness.directory.stop()
        #expect(try await harness.eventually { harness.log.contains("the watch connection failed") })
        try await harness.directory.restart()
        try harness.directory.modify("dn: cn=sales,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=bob,ou=people,dc=example,dc=com\n\n")
        let caughtUp = try await within(30) { try await landed(harness, "bob", "sales") }
        #expect(caughtUp != nil, "\(harness.log.suffix(2000))")
        // And the watch works again after the reconnect.
        try harness.directory.modify("dn: cn=sales,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=alice,ou=people,dc=example,dc=com\n\n")
        #expect(try await within(Self.window + 4) { try await landed(harness, "alice", "sales") } != nil, "\(harness.log.suffix(2000))")
        #expect(await harness.stopDaemon() == 0)
    }

    @Test("with incremental.access_log the daemon's watch batches take member changes from the log once it reaches back")
    func watchFromAccessLog() async throws {
        let harness = try await DaemonHarness(
            schedule: "    schedule:\n      watch: true\n      batch_window: \(Int(Self.window))s\n    incremental:\n      access_log: cn=accesslog")
        try await harness.startDaemon()
        #expect(try await harness.eventually { harness.log.contains("watching for changes") }, "\(harness.log)")
        // The log holds nothing from before the daemon's first position: this batch reads the group.
        try harness.directory.modify("dn: cn=finance,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=dave,ou=people,dc=example,dc=com\n\n")
        #expect(try await within(Self.window + 4) { try await landed(harness, "dave", "finance") } != nil, "\(harness.log.suffix(2000))")
        #expect(try harness.store().runs(directory: "corp", limit: 1).first?.message == nil)
        // Now it reaches back: the next batch's change comes from the log.
        try harness.directory.modify("dn: cn=sales,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=bob,ou=people,dc=example,dc=com\n\n")
        #expect(try await within(Self.window + 4) { try await landed(harness, "bob", "sales") } != nil, "\(harness.log.suffix(2000))")
        let run = try #require(try harness.store().runs(directory: "corp", limit: 1).first)
        #expect(run.trigger == .watch && run.mode == .incremental && run.counts.memberships.added == 1, "\(run)")
        #expect(run.message == "member changes from the access log cn=accesslog (1 write record)", "\(run.message ?? "")")
        #expect(await harness.stopDaemon() == 0)
    }
}
