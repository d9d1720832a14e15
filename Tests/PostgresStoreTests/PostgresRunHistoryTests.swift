import Foundation
import PostgresStore
import SyncCore
import SyncStore
import Testing
import Verification

/// Run history, configuration versions, landing reports and sync state on PostgreSQL give
/// the same answers as the SQLite store for the same calls.
@Suite("PostgreSQL store: run history, configurations, landings, sync state")
struct PostgresRunHistoryTests {
    /// A run with its times cut to whole milliseconds (SQLite keeps milliseconds,
    /// PostgreSQL microseconds): what both stores must return alike.
    static func normalised(_ run: RunRecord?) -> RunRecord? {
        guard var run else { return nil }
        run.startedAt = Date(timeIntervalSince1970: (run.startedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        run.finishedAt = Date(timeIntervalSince1970: (run.finishedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        return run
    }

    static func normalised(_ state: SyncState?) -> SyncState? {
        guard var state else { return nil }
        state.fullRunAt = Date(timeIntervalSince1970: (state.fullRunAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        state.updatedAt = Date(timeIntervalSince1970: (state.updatedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        return state
    }

    @Test("the same calls on SQLite and PostgreSQL give the same runs, changes, configurations, landings and sync state")
    func sameAnswers() async throws {
        let pair = try await StorePair.make()
        let (sqlite, postgres) = (pair.sqlite, pair.postgres)
        let started = Date(timeIntervalSince1970: 1_790_000_000.25)
        let changes = [
            PlannedChange(kind: .user, action: .added, objectID: "u1", dn: "uid=zoë,dc=x", summary: "added user zoë"),
            PlannedChange(kind: .user, action: .changed, objectID: "u2", dn: "uid=b,dc=x", summary: "changed mail",
                          fields: [FieldChange(field: "mail", before: nil, after: "b@x"), FieldChange(field: "dn", before: "uid=a", after: "uid=b")]),
            PlannedChange(kind: .membership, action: .removed, objectID: "g1", dn: "cn=g1,dc=x", summary: "removed u3 from g1"),
        ]
        var counts = ChangeCounts()
        counts.users.added = 1
        counts.users.changed = 1
        counts.memberships.removed = 1
        let state = SyncState(method: "syncrepl", server: "ldap://a", cookie: [9, 0, 255], containers: ["x", "a"], fullRunAt: started, updatedAt: started + 3)

        /// The calls, each store's answers collected as text (RunRecord and friends are Equatable).
        func exercise(
            begin: (RunRecord) throws -> RunRecord, markInterrupted: ([String]) throws -> Int,
            record: (RunRecord, [PlannedChange], SyncState?) throws -> RunRecord, saveConfig: (String, String) throws -> String,
            saveLandings: ([PolicyAudit.Landing], Int64) throws -> Void
        ) throws -> [Int64] {
            var ids: [Int64] = []
            let interrupted = try begin(RunRecord(directory: "corp", trigger: .schedule, mode: .full, outcome: .applied, startedAt: started, finishedAt: started))
            ids.append(interrupted.id!)
            let elsewhere = try begin(RunRecord(directory: "lab", trigger: .schedule, mode: .full, outcome: .applied, startedAt: started, finishedAt: started))
            ids.append(elsewhere.id!)
            // Only the runs of the directories asked about (whose run lock the caller holds).
            #expect(try markInterrupted(["corp", "none"]) == 1)
            #expect(try markInterrupted(["corp"]) == 0)
            #expect(try markInterrupted(["lab"]) == 1)
            let digest = try saveConfig("/etc/groupsync.yaml", "store:\n  path: ünï\n")
            #expect(try saveConfig("/etc/groupsync.yaml", "store:\n  path: ünï\n") == digest)
            let running = try begin(RunRecord(
                directory: "corp", trigger: .api, mode: .incremental, outcome: .applied, startedAt: started + 10, finishedAt: started + 10, configDigest: digest))
            var finished = running
            finished.outcome = .noChanges
            finished.finishedAt = started + 12.5
            finished.counts = counts
            finished.changesTotal = 3
            finished.message = "nothing to apply"
            ids.append(try record(finished, changes, state).id!)
            ids.append(try record(RunRecord(
                directory: "lab", trigger: .manual, mode: .full, outcome: .dryRun, startedAt: started + 20, finishedAt: started + 21), [], nil).id!)
            ids.append(try record(RunRecord(
                directory: "corp", trigger: .watch, mode: .incremental, outcome: .stoppedByLimit, startedAt: started + 30, finishedAt: started + 31,
                message: "stopped: 12 removals > 10"), [], nil).id!)
            try saveLandings([
                PolicyAudit.Landing(intent: "new hires", userKey: "corp/u2", userLabel: "Zoë", target: .group("Sales"), landed: true),
                PolicyAudit.Landing(intent: "new hires", userKey: "corp/u1", userLabel: "adam", target: .policy("Blocked Senders"), landed: false,
                                    reason: Reason(.notAMember, "not in any group the policy targets")),
                PolicyAudit.Landing(intent: "new hires", userKey: "corp/u3", userLabel: "Bea", target: .profileGroup("Relay"), landed: true),
            ], ids[1])
            return ids
        }

        let sqliteIDs = try exercise(
            begin: { try sqlite.beginRun($0) }, markInterrupted: { try sqlite.markInterruptedRuns(directories: $0) },
            record: { try sqlite.record($0, changes: $1, syncState: $2) }, saveConfig: { try sqlite.saveConfig(file: $0, text: $1) },
            saveLandings: { try sqlite.saveLandings($0, runID: $1) })
        // Blocking calls on the test's own thread: short, and they complete on NIO's threads.
        let postgresIDs = try exercise(
            begin: { try postgres.beginRun($0) }, markInterrupted: { try postgres.markInterruptedRuns(directories: $0) },
            record: { try postgres.record($0, changes: $1, syncState: $2) }, saveConfig: { try postgres.saveConfig(file: $0, text: $1) },
            saveLandings: { try postgres.saveLandings($0, runID: $1) })
        #expect(sqliteIDs == postgresIDs)

        do {
            for directory in [nil, "corp", "lab"] {
                #expect(try sqlite.runs(directory: directory).map(Self.normalised) == postgres.runs(directory: directory).map(Self.normalised))
            }
            #expect(try sqlite.runs(limit: 2).map(\.id) == postgres.runs(limit: 2).map(\.id))
            for id in sqliteIDs + [999] {
                #expect(try Self.normalised(sqlite.run(id: id)) == Self.normalised(postgres.run(id: id)))
                #expect(try sqlite.changes(runID: id) == postgres.changes(runID: id))
            }
            #expect(try postgres.changes(runID: sqliteIDs[2]) == changes)
            #expect(try sqlite.changes(runID: sqliteIDs[2], limit: 2) == postgres.changes(runID: sqliteIDs[2], limit: 2))
            #expect(try postgres.run(id: sqliteIDs[0])?.outcome == .failed)
            for directory in ["corp", "lab", "none"] {
                #expect(try Self.normalised(sqlite.lastSuccessfulRun(directory: directory)) == Self.normalised(postgres.lastSuccessfulRun(directory: directory)))
                #expect(try Self.normalised(sqlite.lastDecisiveRun(directory: directory)) == Self.normalised(postgres.lastDecisiveRun(directory: directory)))
            }
            let digest = try #require(try postgres.runs(directory: "corp").last { $0.configDigest != nil }?.configDigest)
            #expect(try sqlite.config(digest: digest)?.text == postgres.config(digest: digest)?.text)
            #expect(try postgres.config(digest: "nope") == nil)

            let sqliteLandings = try sqlite.latestLandings()
            let postgresLandings = try postgres.latestLandings()
            #expect(sqliteLandings.map { Self.normalised($0.run) } == postgresLandings.map { Self.normalised($0.run) })
            #expect(sqliteLandings.map { $0.rows.map(\.userLabel) } == postgresLandings.map { $0.rows.map(\.userLabel) })
            #expect(sqliteLandings.map { $0.rows.map(\.reason) } == postgresLandings.map { $0.rows.map(\.reason) })
            #expect(sqliteLandings.map { $0.rows.map(\.target) } == postgresLandings.map { $0.rows.map(\.target) })

            #expect(try Self.normalised(sqlite.syncState(directory: "corp")) == Self.normalised(postgres.syncState(directory: "corp")))
            #expect(try postgres.syncState(directory: "corp")?.cookie == [9, 0, 255])
            try postgres.clearSyncState(directory: "corp")
            #expect(try postgres.syncState(directory: "corp") == nil)
            try postgres.saveSyncState(state, directory: "lab")
            #expect(try Self.normalised(postgres.syncState(directory: "lab")) == Self.normalised(state))
        }
    }
}
