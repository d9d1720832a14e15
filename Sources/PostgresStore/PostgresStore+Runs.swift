import Foundation
import PostgresNIO
import SyncConfig
import SyncCore
import SyncStore
import Verification

/// Run history, configuration versions and landing reports, as ``Store`` keeps them in SQLite.
extension PostgresStore {
    static let runColumns = "id, directory, trigger, mode, outcome, started_at, finished_at, counts, totals, changes_total, message, config_digest"

    /// Records a run as it starts (outcome `running`), so it has an id while it runs.
    public func beginRun(_ run: RunRecord) throws(StoreError) -> RunRecord {
        var run = run
        run.outcome = .running
        let operation = "record the start of a run of \(run.directory)"
        let inserted = try transaction(operation) { transaction in try Self.insert(run, transaction) }
        run.id = inserted
        return run
    }

    /// Records (or completes, when it has an id) a run that applied nothing to the snapshot,
    /// with its changes, the groups' change markers and the sync state, in one transaction.
    public func record(
        _ run: RunRecord, changes: [PlannedChange] = [], markers: [String: String] = [:], userMarkers: [String: UInt64] = [:],
        syncState: SyncState? = nil
    ) throws(StoreError) -> RunRecord {
        var run = run
        run.id = try transaction("record run of \(run.directory)") { transaction in
            // A run that only records (no changes, stopped, failed) moves the change markers
            // and the feed position too: the same fence as an apply.
            if !markers.isEmpty || !userMarkers.isEmpty || syncState != nil { try checkFence(run.directory, transaction) }
            // One statement for all the markers (a run can move thousands).
            if !markers.isEmpty {
                try transaction.values(
                    #"UPDATE "group" g SET change_marker = v.m FROM (VALUES"#,
                    markers.sorted { $0.key < $1.key }.map { [SQLValue.text(run.directory), .text($0.key), .text($0.value)] },
                    tail: ") AS v(d, id, m) WHERE g.directory = v.d AND g.id = v.id")
            }
            try PostgresSnapshotWriter.writeUserMarkers(userMarkers, directory: run.directory, transaction)
            if let syncState { try Self.save(syncState, directory: run.directory, transaction) }
            let id = try run.id.map { id in try Self.update(run, id: id, transaction); return id } ?? Self.insert(run, transaction)
            try Self.insertChanges(changes, runID: id, transaction)
            return id
        }
        return run
    }

    @discardableResult
    public func markInterruptedRuns(directories: [String]) throws(StoreError) -> Int {
        try query("mark interrupted runs", """
            UPDATE run SET outcome = 'failed', message = 'interrupted: the process ended during the run; nothing was applied'
            WHERE outcome = 'running' AND directory = ANY(\(directories)) RETURNING id
            """).count
    }

    /// The newest runs first (of one directory, or all).
    public func runs(directory: String? = nil, limit: Int = 20) throws(StoreError) -> [RunRecord] {
        let rows: [PostgresRow]
        if let directory {
            rows = try query("list runs", "SELECT \(unescaped: Self.runColumns) FROM run WHERE directory = \(directory) ORDER BY id DESC LIMIT \(limit)")
        } else {
            rows = try query("list runs", "SELECT \(unescaped: Self.runColumns) FROM run ORDER BY id DESC LIMIT \(limit)")
        }
        return try rows.map { row throws(StoreError) in try runRecord(row) }
    }

    public func run(id: Int64) throws(StoreError) -> RunRecord? {
        try query("read run \(id)", "SELECT \(unescaped: Self.runColumns) FROM run WHERE id = \(id)").first.map { row throws(StoreError) in try runRecord(row) }
    }

    /// The changes a run applied or planned, in order.
    public func changes(runID: Int64, limit: Int? = nil) throws(StoreError) -> [PlannedChange] {
        let operation = "read the changes of run \(runID)"
        let rows = try query(operation, """
            SELECT kind, action, object_id, dn, summary, fields FROM run_change WHERE run_id = \(runID) ORDER BY seq LIMIT \(limit.map(Int64.init) ?? Int64.max)
            """)
        return try rows.map { row throws(StoreError) -> PlannedChange in
            let (kind, action, objectID, dn, summary, fields) = try decode(operation, row, as: (String, String, String, String, String, String).self)
            guard let kind = PlannedChange.Kind(rawValue: kind), let action = PlannedChange.Action(rawValue: action) else {
                throw StoreError(path: label, operation: operation, underlying: PostgresStoreError("a change of an unknown kind \(kind)/\(action)"))
            }
            let decoded: [FieldChange]
            do {
                decoded = try JSONDecoder().decode([FieldChange].self, from: Data(fields.utf8))
            } catch {
                throw StoreError(path: label, operation: operation, underlying: error)
            }
            return PlannedChange(kind: kind, action: action, objectID: objectID, dn: dn, summary: summary, fields: decoded)
        }
    }

    /// The last run of a directory that applied (or found nothing to apply).
    public func lastSuccessfulRun(directory: String) throws(StoreError) -> RunRecord? {
        try query("read the last run of \(directory)", """
            SELECT \(unescaped: Self.runColumns) FROM run WHERE directory = \(directory) AND outcome IN ('applied', 'no-changes') ORDER BY id DESC LIMIT 1
            """).first.map { row throws(StoreError) in try runRecord(row) }
    }

    /// The last run that decided something (not a dry run, not the run in progress).
    public func lastDecisiveRun(directory: String) throws(StoreError) -> RunRecord? {
        try query("read the last run of \(directory)", """
            SELECT \(unescaped: Self.runColumns) FROM run WHERE directory = \(directory) AND outcome NOT IN ('dry-run', 'running') ORDER BY id DESC LIMIT 1
            """).first.map { row throws(StoreError) in try runRecord(row) }
    }

    // MARK: Configuration versions and landing reports

    /// Keeps a configuration file's text (once per distinct text) and returns its digest.
    public func saveConfig(file: String, text: String) throws(StoreError) -> String {
        let digest = StableHash.hex(text)
        _ = try query("save the configuration", """
            INSERT INTO config_version (digest, file, text, first_used_at) VALUES (\(digest), \(file), \(text), now()) ON CONFLICT (digest) DO NOTHING
            """)
        return digest
    }

    public func config(digest: String) throws(StoreError) -> (file: String, text: String)? {
        let operation = "read a configuration"
        return try query(operation, "SELECT file, text FROM config_version WHERE digest = \(digest)").first.map { row throws(StoreError) in
            let (file, text) = try decode(operation, row, as: (String, String).self)
            return (file: file, text: text)
        }
    }

    /// Stores the landing report a run evaluated.
    public func saveLandings(_ rows: [PolicyAudit.Landing], runID: Int64) throws(StoreError) {
        try transaction("save the landing report of run \(runID)") { transaction in
            for row in rows {
                let reason = row.reason.map { "\($0.code.rawValue)\t\($0.message)" }
                try transaction.query("""
                    INSERT INTO landing (run_id, intent, user_key, user_label, target_kind, target_name, landed, reason, path)
                    VALUES (\(runID), \(row.intent), \(row.userKey), \(row.userLabel), \(row.target.kind), \(row.target.name), \(row.landed), \(reason), NULL)
                    ON CONFLICT (run_id, intent, user_key, target_kind, target_name) DO UPDATE SET
                        user_label = EXCLUDED.user_label, landed = EXCLUDED.landed, reason = EXCLUDED.reason, path = EXCLUDED.path
                    """)
            }
        }
    }

    /// The landing reports of the last two runs that evaluated one, newest first.
    public func latestLandings() throws(StoreError) -> [(run: RunRecord, rows: [PolicyAudit.Landing])] {
        let operation = "read the landing report"
        let ids = try query(operation, "SELECT DISTINCT run_id FROM landing ORDER BY run_id DESC LIMIT 2").map { row throws(StoreError) in
            try decode(operation, row, as: Int64.self)
        }
        var reports: [(run: RunRecord, rows: [PolicyAudit.Landing])] = []
        for id in ids {
            guard let run = try run(id: id) else { continue }
            // COLLATE "C": byte order, as SQLite's default BINARY collation sorts.
            let rows = try query(operation, """
                SELECT intent, user_key, user_label, target_kind, target_name, landed, reason FROM landing WHERE run_id = \(id)
                ORDER BY intent COLLATE "C", user_label COLLATE "C", target_kind COLLATE "C", target_name COLLATE "C"
                """).map { row throws(StoreError) -> PolicyAudit.Landing in
                let (intent, userKey, userLabel, kind, name, landed, reasonText) = try decode(
                    operation, row, as: (String, String, String, String, String, Bool, String?).self)
                let target: Target = kind == "policy" ? .policy(name) : kind == "group" ? .group(name) : .profileGroup(name)
                let reason = reasonText.map { text -> Reason in
                    let parts = text.split(separator: "\t", maxSplits: 1).map(String.init)
                    return Reason(Reason.Code(rawValue: parts[0]) ?? .notAMember, parts.count > 1 ? parts[1] : "")
                }
                return PolicyAudit.Landing(intent: intent, userKey: userKey, userLabel: userLabel, target: target, landed: landed, reason: reason)
            }
            reports.append((run: run, rows: rows))
        }
        return reports
    }

    // MARK: Rows

    static func insert(_ run: RunRecord, _ transaction: PostgresSession.Transaction) throws -> Int64 {
        let (counts, totals) = try encoded(run)
        let rows = try transaction.query("""
            INSERT INTO run (directory, trigger, mode, outcome, started_at, finished_at, counts, totals, changes_total, message, config_digest)
            VALUES (\(run.directory), \(run.trigger.rawValue), \(run.mode.rawValue), \(run.outcome.rawValue), \(run.startedAt), \(run.finishedAt),
                    \(counts), \(totals), \(Int64(run.changesTotal)), \(run.message), \(run.configDigest))
            RETURNING id
            """)
        return try rows.first!.decode(Int64.self)
    }

    static func update(_ run: RunRecord, id: Int64, _ transaction: PostgresSession.Transaction) throws {
        let (counts, totals) = try encoded(run)
        try transaction.query("""
            UPDATE run SET directory = \(run.directory), trigger = \(run.trigger.rawValue), mode = \(run.mode.rawValue),
                outcome = \(run.outcome.rawValue), started_at = \(run.startedAt), finished_at = \(run.finishedAt), counts = \(counts),
                totals = \(totals), changes_total = \(Int64(run.changesTotal)), message = \(run.message), config_digest = \(run.configDigest)
            WHERE id = \(id)
            """)
    }

    static func insertChanges(_ changes: [PlannedChange], runID: Int64, _ transaction: PostgresSession.Transaction) throws {
        guard !changes.isEmpty else { return }
        let encoder = JSONEncoder()
        // unnest: one statement for a batch of changes instead of one per change.
        for start in stride(from: 0, to: changes.count, by: 5_000) {
            let batch = changes[start..<min(changes.count, start + 5_000)]
            let fields = try batch.map { $0.fields.isEmpty ? "[]" : String(decoding: try encoder.encode($0.fields), as: UTF8.self) }
            try transaction.query("""
                INSERT INTO run_change (run_id, seq, kind, action, object_id, dn, summary, fields)
                SELECT \(runID), * FROM unnest(\(batch.indices.map { Int32($0) }), \(batch.map(\.kind.rawValue)), \(batch.map(\.action.rawValue)),
                    \(batch.map(\.objectID)), \(batch.map(\.dn)), \(batch.map(\.summary)), \(fields))
                """)
        }
    }

    private static func encoded(_ run: RunRecord) throws -> (counts: String, totals: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (String(decoding: try encoder.encode(run.counts), as: UTF8.self), String(decoding: try encoder.encode(run.totals), as: UTF8.self))
    }

    func runRecord(_ row: PostgresRow) throws(StoreError) -> RunRecord {
        let operation = "read a run"
        let (id, directory, trigger, mode, outcome, started, finished, counts, totals, changesTotal, message, configDigest) = try decode(
            operation, row, as: (Int64, String, String, String, String, Date, Date, String, String, Int64, String?, String?).self)
        do {
            let decoder = JSONDecoder()
            guard let trigger = RunRecord.Trigger(rawValue: trigger), let mode = RunRecord.Mode(rawValue: mode),
                  let outcome = RunRecord.Outcome(rawValue: outcome) else {
                throw PostgresStoreError("run \(id) has an unknown trigger, mode or outcome (\(trigger), \(mode), \(outcome))")
            }
            return RunRecord(
                id: id, directory: directory, trigger: trigger, mode: mode, outcome: outcome, startedAt: started, finishedAt: finished,
                counts: try decoder.decode(ChangeCounts.self, from: Data(counts.utf8)), totals: try decoder.decode(RunRecord.Totals.self, from: Data(totals.utf8)),
                changesTotal: Int(changesTotal), message: message, configDigest: configDigest)
        } catch {
            throw StoreError(path: label, operation: operation, underlying: error)
        }
    }
}
