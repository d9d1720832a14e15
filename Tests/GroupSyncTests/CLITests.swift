import Foundation
import GroupSync
import LDAPTestSupport
import SyncStore
import Testing

/// The `groupsync` binary as scripts use it: exit codes and JSON on standard output.
@Suite("The groupsync command line", .tags(.slapd))
struct CLITests {
    /// The built binary: next to the test bundle in the build folder.
    static var binary: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("groupsync").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
    }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test("sync --json, runs, runs show, and the exit codes 0, 4, 3 and 2")
    func endToEnd() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard, limits: ["max_membership_deletions": "0"])
        let config = ["--config", harness.configPath]

        let first = try Self.run(["sync", "--json"] + config)
        #expect(first.status == 0, "\(first.stderr)")
        let runs = try #require(first.json?["runs"] as? [[String: Any]])
        let run = try #require(runs.first)
        #expect(run["outcome"] as? String == "applied")
        #expect(run["directory"] as? String == "corp")
        #expect(run["trigger"] as? String == "manual")
        #expect(run["mode"] as? String == "full")
        for key in ["id", "started_at", "finished_at", "counts", "message"] { #expect(run.keys.contains(key), "missing \(key)") }
        let counts = try #require(run["counts"] as? [String: [String: Int]])
        #expect(counts["users"] == ["added": 6, "removed": 0, "changed": 0])
        #expect(counts["memberships"] == ["added": 6, "removed": 0])
        #expect((run["started_at"] as? String)?.hasSuffix("Z") == true)

        let unchanged = try Self.run(["sync"] + config)
        #expect(unchanged.status == 0)
        #expect(unchanged.stdout.contains("corp: no changes"))

        try harness.directory.modify("dn: cn=staff,ou=groups,dc=example,dc=com\nchangetype: delete\n")
        let stopped = try Self.run(["sync"] + config)
        #expect(stopped.status == 4)
        #expect(stopped.stdout.contains("STOPPED, nothing applied"))
        #expect(stopped.stdout.contains("max_membership_deletions = 0"))
        let dry = try Self.run(["sync", "--dry-run", "--json"] + config)
        #expect(dry.status == 0)
        let dryRun = try #require((dry.json?["runs"] as? [[String: Any]])?.first)
        #expect(dryRun["outcome"] as? String == "dry-run")
        #expect((dryRun["message"] as? String)?.contains("a real run would stop: stopped by safety limits") == true)
        let forced = try Self.run(["sync", "--force"] + config)
        #expect(forced.status == 0)
        #expect(forced.stdout.contains("remove group staff (cn=staff,ou=groups,dc=example,dc=com)"))

        let history = try Self.run(["runs", "--json"] + config)
        let listed = try #require(history.json?["runs"] as? [[String: Any]])
        #expect(listed.map { $0["outcome"] as? String } == ["applied", "dry-run", "stopped-by-limit", "no-changes", "applied"])
        let lastID = try #require(listed.first?["id"] as? Int)
        let shown = try Self.run(["runs", "show", "\(lastID)"] + config)
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("remove dave from group staff"))
        let table = try Self.run(["runs"] + config)
        #expect(table.stdout.contains("stopped-by-limit"))

        await harness.directory.stop()
        let down = try Self.run(["sync"] + config)
        #expect(down.status == 3)
        #expect(down.stdout.contains("FAILED, store unchanged"))
        #expect(down.stdout.contains("cannot connect to"))

        let unknown = try Self.run(["sync", "--directory", "nope"] + config)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no directory named \"nope\""))
        let missing = try Self.run(["runs", "show", "999"] + config)
        #expect(missing.status == 2)
        let badConfig = try Self.run(["sync", "--config", "/nonexistent/groupsync.yaml"])
        #expect(badConfig.status == 2)
        #expect(badConfig.stderr.contains("/nonexistent/groupsync.yaml: cannot read the file"))
        let usage = try Self.run(["sync", "--no-such-flag"])
        #expect(usage.status == 2)
    }

    @Test("a sync closes the store: its write-ahead log is back in the database file, not left for the next command to replay")
    func syncLeavesNoLog() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard)
        // This process's own connection would keep the log in use: only the last one to
        // close copies it back.
        try harness.store.close()
        let config = ["--config", harness.configPath]
        let database = harness.folder.appendingPathComponent("var/groupsync.sqlite").path
        func log() -> Int? {
            (try? FileManager.default.attributesOfItem(atPath: database + "-wal"))?[.size] as? Int
        }
        let first = try Self.run(["sync", "--json"] + config)
        #expect(first.status == 0, "\(first.stderr)")
        let counts = try #require((first.json?["runs"] as? [[String: Any]])?.first?["counts"] as? [String: [String: Int]])
        let groups = try #require(counts["groups"]?["added"])
        #expect(log() == nil, "the first sync left a write-ahead log of \(log() ?? 0) bytes")

        try harness.directory.modify("dn: cn=staff,ou=groups,dc=example,dc=com\nchangetype: delete\n")
        let second = try Self.run(["sync", "--force"] + config)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(log() == nil)

        // A run that fails closes the store too.
        await harness.directory.stop()
        let down = try Self.run(["sync"] + config)
        #expect(down.status == 3)
        #expect(log() == nil)

        // With no log, all three runs are in the database file itself.
        let store = try harness.config.store.open()
        #expect(try store.runs(directory: nil, limit: 10).map(\.outcome) == [.failed, .applied, .applied])
        #expect(try store.totals(directory: "corp").groups == groups - 1)
        try store.close()
        #expect(log() == nil)
    }
}
