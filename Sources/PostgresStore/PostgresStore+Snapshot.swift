import Foundation
import PostgresNIO
import SyncCore
import SyncStore

/// The snapshot on PostgreSQL: applying a plan (one transaction with the run record) and
/// reading a directory's snapshot back, as ``Store`` does in SQLite.
extension PostgresStore {
    /// Applies a plan to a directory's snapshot and records the run with its changes, in one
    /// transaction. Returns the run with its id and the totals after the apply.
    @discardableResult
    public func apply(_ plan: Plan, run: RunRecord, syncState: SyncState? = nil) throws(StoreError) -> RunRecord {
        var run = run
        let (id, totals, finished) = try transaction("apply run of \(run.directory)") { transaction -> (Int64, RunRecord.Totals, Date) in
            try checkFence(run.directory, transaction)
            try PostgresSnapshotWriter(transaction: transaction, directory: run.directory).write(plan)
            if let syncState { try Self.save(syncState, directory: run.directory, transaction) }
            var recorded = run
            recorded.totals = try Self.totals(transaction, directory: run.directory)
            recorded.finishedAt = Date()
            let id = try run.id.map { id in try Self.update(recorded, id: id, transaction); return id } ?? Self.insert(recorded, transaction)
            try Self.insertChanges(plan.changes, runID: id, transaction)
            return (id, recorded.totals, recorded.finishedAt)
        }
        run.id = id
        run.totals = totals
        run.finishedAt = finished
        refreshStatistics(after: plan, totals: totals)
        return run
    }

    /// After a run that wrote a tenth of the snapshot or more (a first sync above all), the
    /// planner's statistics are brought up to date at once rather than when autovacuum next
    /// gets to it (a minute or more later): without them the next runs' lookups by id and DN
    /// are planned as if the tables were empty — an incremental run after the benchmark's
    /// first sync took 3.3 s that way, 0.9 s once the tables had been analyzed. Housekeeping
    /// after the commit: a failure leaves the statistics to autovacuum and changes nothing else.
    func refreshStatistics(after plan: Plan, totals: RunRecord.Totals) {
        let stored = totals.users + totals.groups + totals.memberships
        guard plan.changeCount >= 1_000, plan.changeCount * 10 >= stored else { return }
        _ = try? session.query(#"ANALYZE "user", "group", membership, user_address, unresolved_member"#)
    }

    /// Counts of the stored snapshot of a directory.
    public func totals(directory: String) throws(StoreError) -> RunRecord.Totals {
        try transaction("count the snapshot of \(directory)") { transaction in try Self.totals(transaction, directory: directory) }
    }

    /// The memberships are the sum of the groups' member digest counts when every group has
    /// one (as in the SQLite store: the digests describe the membership rows written with them).
    static func totals(_ transaction: PostgresSession.Transaction, directory: String) throws -> RunRecord.Totals {
        let row = try transaction.query("""
            SELECT (SELECT count(*) FROM "user" WHERE directory = \(directory)),
                   (SELECT count(*) FROM "group" WHERE directory = \(directory)),
                   CASE WHEN (SELECT count(*) FILTER (WHERE members_count IS NULL) FROM "group" WHERE directory = \(directory)) = 0
                        THEN (SELECT coalesce(sum(members_count), 0)::bigint FROM "group" WHERE directory = \(directory))
                        ELSE (SELECT count(*) FROM membership m JOIN "group" g ON g.ref = m.group_ref WHERE g.directory = \(directory)) END,
                   (SELECT count(*) FROM unresolved_member u JOIN "group" g ON g.ref = u.group_ref WHERE g.directory = \(directory))
            """).first!
        let (users, groups, memberships, unresolved) = try row.decode((Int64, Int64, Int64, Int64).self)
        return RunRecord.Totals(users: Int(users), groups: Int(groups), memberships: Int(memberships), unresolvedMembers: Int(unresolved))
    }

    /// The whole snapshot the store holds for a directory (empty before its first applied
    /// run), with the groups' member digests and change markers. With `wanted`, the members
    /// of groups whose digests agree with it are taken from it instead of being read.
    public func snapshot(directory: String, reusingMembersOf wanted: Snapshot?) throws(StoreError) -> Snapshot {
        var snapshot = try header(directory: directory, usersByDigest: false, resolutionDigests: true)
        try completeMembers(&snapshot, directory: directory, reusingMembersOf: wanted)
        return snapshot
    }
}
