import Foundation
import GroupSync
import LDAPTestSupport
import SyncStore
import Testing

/// The commands an admin runs, on a configuration whose store is PostgreSQL.
@Suite("The command line on a PostgreSQL store", .tags(.slapd))
struct PostgresCLITests {
    @Test("check, sync, verify, explain, report, runs, status; a second sync waits for none; migrate-store copies it back to SQLite")
    func commands() async throws {
        let harness = try await VerificationFixture.harness(backend: .postgres)
        let config = ["--config", harness.configPath]

        let check = try CLITests.run(["check", "--json"] + config)
        let store = try #require(check.json?["store"] as? [String: Any])
        #expect(store["status"] as? String == "pass", "\(check.stdout)")
        #expect((store["detail"] as? String)?.contains("postgres://groupsync@127.0.0.1:") == true)

        let sync = try CLITests.run(["sync", "--json"] + config)
        #expect(sync.status == 0, "\(sync.stderr)")
        let run = try #require((sync.json?["runs"] as? [[String: Any]])?.first)
        #expect(run["outcome"] as? String == "applied")
        #expect((run["started_at"] as? String)?.hasSuffix("Z") == true)

        let landed = try CLITests.run(["verify", "alice", "--policy", "Permitted Finance"] + config)
        #expect(landed.status == 0, "\(landed.stderr)")
        #expect(landed.stdout.contains("alice → finance → all-finance → permitted-senders-finance → profile group PS Finance → policy Permitted Finance"))
        let notLanded = try CLITests.run(["verify", "carol", "--group", "finance", "--json"] + config)
        #expect(notLanded.status == 1)
        let explain = try CLITests.run(["explain", "alice", "--json"] + config)
        #expect(explain.status == 0, "\(explain.stderr)")
        let report = try CLITests.run(["report", "--json"] + config)
        #expect(report.status == 1, "frank never landed and the lint has errors, as on SQLite: \(report.stderr)")
        #expect((report.json?["intents"] as? [[String: Any]])?.count == 3)

        // While another process holds the store's run lock, a sync is refused and says so.
        do {
            let held = try harness.store.runLock(directories: ["corp"])
            let refused = try CLITests.run(["sync"] + config)
            #expect(refused.status == 3)
            #expect(refused.stderr.contains("another sync of directory corp is running against this store"), "\(refused.stderr)")
            withExtendedLifetime(held) {}
        }
        let again = try CLITests.run(["sync"] + config)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("no changes"))

        let runs = try CLITests.run(["runs", "--json"] + config)
        let listed = try #require(runs.json?["runs"] as? [[String: Any]])
        #expect(listed.map { $0["outcome"] as? String } == ["no-changes", "applied"])
        let shown = try CLITests.run(["runs", "show", "\(listed.last?["id"] as? Int ?? 0)"] + config)
        #expect(shown.status == 0, "\(shown.stderr)")
        let status = try CLITests.run(["status", "--json"] + config)
        #expect(status.status == 0, "\(status.stderr)")

        // migrate-store's source defaults to the configuration's store.
        let copy = harness.folder.appendingPathComponent("copy.sqlite").path
        let migrated = try CLITests.run(["migrate-store", "--to", copy, "--json"] + config)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let copied = try Store(path: copy)
        #expect(try copied.snapshot(directory: "corp") == harness.store.snapshot(directory: "corp"))
        #expect(try copied.runs().map(\.outcome) == harness.store.runs().map(\.outcome))
    }
}
