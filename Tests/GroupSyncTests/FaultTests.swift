import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import SyncCore
import SyncStore
import Synchronization
import Testing

/// Faults during a run, each injected at ten moments: after every one the store opens,
/// passes `PRAGMA integrity_check`, and holds the snapshot from before the run or the one
/// after it, never a mix; the run is recorded as failed (or, applied, if the fault came too
/// late to matter); and the next run succeeds.
@Suite("Faults during a run lose nothing", .tags(.slapd))
struct FaultTests {
    /// 6,000 people and 4,000 groups of three: 10,000 entries read 100 to a page, so the
    /// progress callback (every 1,000 entries) marks ten moments, six in the user search
    /// and four in the group search.
    static var fixture: DirectoryFixture {
        var fixture = DirectoryFixture.people(6000)
        fixture.entries += (0..<4000).map { index in
            DirectoryFixture.group(String(format: "team%04d", index), members: (0..<3).map {
                String(format: "uid=user%04d,ou=people,dc=example,dc=com", (index * 3 + $0) % 6000)
            })
        }
        return fixture
    }

    static let fullRuns = "    incremental:\n      method: off\n"

    /// One change to the directory, so the snapshot after a run differs from the one before.
    static func change(_ harness: SyncHarness, _ round: Int) throws {
        try harness.directory.add([DirectoryFixture.person("fault\(round)")])
        try harness.directory.modify("""
            dn: cn=team\(String(format: "%04d", round)),ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=fault\(round),ou=people,dc=example,dc=com

            """)
    }

    /// What every fault must leave: a sound store holding `before` (the run failed) or
    /// what the next, clean run finds (the run applied before the fault); the next run works.
    static func checkAfterFault(_ harness: SyncHarness, _ report: RunReport, before: Snapshot, round: Int) async throws -> Snapshot {
        #expect(try harness.store.integrityProblems() == [], "round \(round)")
        let during = try harness.snapshot()
        let next = try await harness.sync()
        let after = try harness.snapshot()
        #expect(next.run.outcome == .applied || next.run.outcome == .noChanges, "round \(round): \(next.run.message ?? "")")
        #expect(after.users["fault\(round)"] != nil || after.users.values.contains { $0.username == "fault\(round)" }, "round \(round)")
        switch report.run.outcome {
        case .failed:
            #expect(during == before, "round \(round): a failed run changed the store")
            #expect(next.run.outcome == .applied, "round \(round)")
        case .applied:
            #expect(during == after, "round \(round): the run applied part of its plan")
            #expect(next.run.outcome == .noChanges, "round \(round)")
        default:
            Issue.record("round \(round): unexpected outcome \(report.run.outcome)")
        }
        return after
    }

    @Test("slapd killed (SIGKILL) at ten moments of the user and group searches")
    func slapdKilled() async throws {
        let harness = try await SyncHarness(fixture: Self.fixture, pageSize: 100, directoryExtra: Self.fullRuns)
        try await harness.sync()
        var before = try harness.snapshot()
        var failed = 0
        for round in 0..<10 {
            try Self.change(harness, round)
            let directory = harness.directory
            let moment = (round + 1) * 1000
            let report = try await harness.sync { _, progress in
                if progress.entries >= moment { directory.signalNow(SIGKILL) }
            }
            if report.run.outcome == .failed {
                failed += 1
                #expect(report.run.message?.contains("search") == true || report.run.message?.contains("connect") == true, "\(report.run.message ?? "")")
            }
            await directory.kill(SIGKILL)
            try await directory.restart()
            before = try await Self.checkAfterFault(harness, report, before: before, round: round)
        }
        // The last moment is the final entry: the result may already be in hand.
        #expect(failed >= 9)
    }

    @Test("slapd stopped or killed between the user search and the group search, ten times")
    func slapdStoppedBetweenSearches() async throws {
        var fixture = DirectoryFixture.people(2000)
        fixture.entries.append(DirectoryFixture.group("everyone", members: (0..<2000).map { String(format: "uid=user%04d,ou=people,dc=example,dc=com", $0) }))
        let harness = try await SyncHarness(fixture: fixture, pageSize: 200, directoryExtra: Self.fullRuns)
        try await harness.sync()
        var before = try harness.snapshot()
        for round in 0..<10 {
            try harness.directory.add([DirectoryFixture.person("fault\(round)")])
            let directory = harness.directory
            // SIGTERM (slapd shuts down and closes its connections) and SIGKILL in turn.
            let signal = round.isMultiple(of: 2) ? SIGTERM : SIGKILL
            let sawBoundary = Atomic(false)
            let users = before.users.count + 1
            let report = try await harness.sync { _, progress in
                // Reported once the user search is done, before the group search is sent.
                if progress.phase == "groups", progress.entries == users {
                    sawBoundary.store(true, ordering: .relaxed)
                    // Gone before the group search is sent (a SIGTERM'd slapd takes a moment).
                    directory.signalAndWait(signal)
                }
            }
            let boundary = sawBoundary.load(ordering: .relaxed)
            #expect(boundary, "round \(round): the group search did not start")
            #expect(report.run.outcome == .failed, "round \(round): \(report.run.message ?? "")")
            await directory.kill(SIGKILL)
            try await directory.restart()
            before = try await Self.checkAfterFault(harness, report, before: before, round: round)
        }
    }

    @Test("slapd stalled (SIGSTOP) past the timeout at ten moments: the run fails within the timeout")
    func slapdStalled() async throws {
        let harness = try await SyncHarness(fixture: Self.fixture, pageSize: 100, timeout: "1s", directoryExtra: Self.fullRuns)
        try await harness.sync()
        var before = try harness.snapshot()
        var failed = 0
        for round in 0..<10 {
            try Self.change(harness, round)
            let directory = harness.directory
            let moment = (round + 1) * 1000
            let stoppedAt = Mutex<ContinuousClock.Instant?>(nil)
            let report = try await harness.sync { _, progress in
                guard progress.entries >= moment else { return }
                stoppedAt.withLock { at in
                    if at == nil {
                        at = .now
                        directory.signalNow(SIGSTOP)
                    }
                }
            }
            let stalled = try #require(stoppedAt.withLock { $0 }, "round \(round): never reached entry \(moment)")
            let waited = ContinuousClock.now - stalled
            directory.signalNow(SIGCONT)
            if report.run.outcome == .failed {
                failed += 1
                #expect(report.run.message?.contains("Timed out") == true, "\(report.run.message ?? "")")
                // The timeout, plus a margin for the other tests sharing two cores.
                #expect(waited < .seconds(10), "round \(round): the run took \(waited) to give up on a 1 s timeout")
            }
            before = try await Self.checkAfterFault(harness, report, before: before, round: round)
        }
        // The last moment is the final entry: the result may already be in hand.
        #expect(failed >= 9)
    }

    // MARK: groupsync itself killed during apply

    /// `size` people under ou=people and as many contractors beside it; `size / 10` groups
    /// of 20 with both.
    static func twoPopulations(_ size: Int = 4000) -> DirectoryFixture {
        var fixture = DirectoryFixture.people(size)
        fixture.entries.append(LDIFEntry(dn: "ou=contractors,dc=example,dc=com", [("objectClass", "organizationalUnit"), ("ou", "contractors")]))
        for index in 0..<size {
            var person = DirectoryFixture.person(String(format: "contractor%04d", index))
            person.dn = String(format: "uid=contractor%04d,ou=contractors,dc=example,dc=com", index)
            fixture.entries.append(person)
        }
        fixture.entries += (0..<size / 10).map { group in
            DirectoryFixture.group(String(format: "crew%03d", group), members: (0..<20).map { slot in
                let index = group * 10 + slot / 2
                return slot.isMultiple(of: 2)
                    ? String(format: "uid=user%04d,ou=people,dc=example,dc=com", index)
                    : String(format: "uid=contractor%04d,ou=contractors,dc=example,dc=com", index)
            })
        }
        return fixture
    }

    /// Runs `groupsync sync --verbose` as a child; with `killAfter`, sends it SIGKILL that long
    /// after it logs the start of the apply. Returns the log.
    static func childSync(config: String, log: String, killAfter: Duration?, extra: [String] = []) async throws -> String {
        try? FileManager.default.removeItem(atPath: log)
        let child = try SpawnedProcess(executable: CLITests.binary, arguments: ["sync", "--verbose", "--config", config] + extra, logPath: log)
        if let killAfter {
            child.signal(SIGKILL, after: killAfter, once: "applying the plan", appearsIn: log)
        }
        await child.waitForExit(timeout: .seconds(300))
        return (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    /// What the store holds, read by a fresh connection as another process would.
    static func storeState(_ harness: SyncHarness) throws -> (snapshot: Snapshot, problems: [String], last: RunRecord?) {
        let store = try harness.config.store.open()
        return (try store.snapshot(directory: "corp"), try store.integrityProblems(), try store.runs(directory: nil, limit: 1).first)
    }

    /// Ten times: the store is `reset` to the snapshot with ou=people only, then a child
    /// `groupsync sync` that adds the contractors is SIGKILLed `delay(round, applying)`
    /// after it logs the start of its apply (`applying`: a clean apply's seconds). Each
    /// time the store holds the snapshot before or after, never a mix; the killed run is
    /// marked interrupted by the next, which succeeds.
    static func killDuringApply(
        _ harness: SyncHarness, size: Int, saveBefore: () throws -> Void, reset: () async throws -> Void,
        delay: (_ round: Int, _ applying: Double) -> Duration
    ) async throws -> [String: Int] {
        let log = harness.folder.appendingPathComponent("child.log").path
        let widened = harness.folder.appendingPathComponent("widened.yaml").path
        try String(contentsOfFile: harness.configPath, encoding: .utf8)
            .replacingOccurrences(of: "base: \(SyncHarness.people)", with: "base: dc=example,dc=com")
            .write(toFile: widened, atomically: true, encoding: .utf8)
        _ = try await childSync(config: harness.configPath, log: log, killAfter: nil)
        try saveBefore()
        let before = try storeState(harness).snapshot
        #expect(before.users.count == size)

        try await reset()
        let clean = try await childSync(config: widened, log: log, killAfter: nil)
        let after = try storeState(harness).snapshot
        #expect(after.users.count == 2 * size && after != before)
        let match = try #require(clean.firstMatch(of: /applying took ([0-9.]+) seconds/), "\(clean)")
        let applying = try #require(Double(match.1))

        var outcomes: [String: Int] = [:]
        for round in 0..<10 {
            try await reset()
            #expect(try storeState(harness).snapshot == before, "round \(round): not reset")
            _ = try await childSync(config: widened, log: log, killAfter: delay(round, applying))
            let state = try storeState(harness)
            #expect(state.problems == [], "round \(round)")
            #expect(state.snapshot == before || state.snapshot == after, "round \(round): the store holds a mix")
            let last = try #require(state.last)
            if state.snapshot == before {
                // The run row is written when the run starts; the killed process left it running.
                #expect(last.outcome == .running, "round \(round): \(last.outcome)")
                outcomes["before", default: 0] += 1
            } else {
                #expect(last.outcome == .applied, "round \(round): \(last.outcome)")
                outcomes["after", default: 0] += 1
            }
            // The next run marks the interrupted one failed and succeeds.
            let next = try await childSync(config: widened, log: log, killAfter: nil)
            #expect(try storeState(harness).snapshot == after, "round \(round): \(next)")
            if last.outcome == .running, let id = last.id {
                let killed = try #require(try harness.config.store.open().run(id: id))
                #expect(killed.outcome == .failed && killed.message?.contains("interrupted") == true)
            }
        }
        // Both ends were reached: kills inside the apply and one after its commit. (The kill
        // comes from a thread of its own: timed by a sleeping task, on a CI run whose other
        // tests kept the cooperative pool busy, kills meant for 20 ms in landed after the end.)
        #expect(outcomes["before", default: 0] >= 3 && outcomes["after", default: 0] >= 1, "\(outcomes)")
        print("a clean apply took \(applying) s")
        return outcomes
    }

    @Test("groupsync killed (SIGKILL) at ten moments of its apply: the store holds before or after, never a mix")
    func groupsyncKilledDuringApply() async throws {
        // Before: only ou=people; after: the contractors too (4,000 users and 4,000 memberships more).
        let harness = try await SyncHarness(fixture: Self.twoPopulations(), directoryExtra: Self.fullRuns)
        let storePath = harness.config.store.path
        let template = harness.folder.appendingPathComponent("before.sqlite").path
        // The store is the database file and its WAL (a run's pages stay in the WAL until a
        // checkpoint): both are copied, with no process holding them.
        let outcomes = try await Self.killDuringApply(
            harness, size: 4000,
            saveBefore: {
                for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: storePath + suffix) {
                    try FileManager.default.copyItem(atPath: storePath + suffix, toPath: template + suffix)
                }
            },
            reset: {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storePath + suffix) }
                for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: template + suffix) {
                    try FileManager.default.copyItem(atPath: template + suffix, toPath: storePath + suffix)
                }
            },
            // From the start of the apply on, doubling (0 to 1.3 s into one that takes about
            // 0.7 s here, longer on a busy machine); the last well past a clean apply's end.
            delay: { round, applying in
                round == 9 ? .milliseconds(Int(applying * 3000)) : .milliseconds(round == 0 ? 0 : 5 << round)
            })
        print("groupsync killed during apply: \(outcomes)")
    }

    @Test("on a PostgreSQL store, groupsync killed (SIGKILL) at ten moments of its apply: before or after, never a mix")
    func groupsyncKilledDuringApplyOnPostgres() async throws {
        // A quarter of the SQLite test's directory: PostgreSQL's apply is slower (about 0.8 s
        // for 1,000 users and 2,000 memberships in a debug build), and a round is three syncs.
        let harness = try await SyncHarness(fixture: Self.twoPopulations(1000), directoryExtra: Self.fullRuns, backend: .postgres)
        let log = harness.folder.appendingPathComponent("reset.log").path
        let outcomes = try await Self.killDuringApply(
            harness, size: 1000, saveBefore: {},
            // Back to ou=people only: a run that removes the contractors (past the limits, so forced).
            reset: { _ = try await Self.childSync(config: harness.configPath, log: log, killAfter: nil, extra: ["--force"]) },
            // Over the apply, most in its first half (a later apply can run faster than the
            // timed one); the last well past its end. The server rolls back the transaction of
            // a connection that drops.
            delay: { round, applying in
                let fractions = [0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 3]
                return .milliseconds(Int(applying * 1000 * fractions[round]))
            })
        print("groupsync killed during apply on PostgreSQL: \(outcomes)")
    }
}
