import Foundation
import GRDB
import SyncCore

/// The local store: per directory the last snapshot (users, groups, direct memberships,
/// unresolved member values), and the history of runs with their changes.
///
/// SQLite in WAL mode: readers (verify, runs, status) never wait for a sync. ``apply(_:run:)``
/// is the only writer of the snapshot and writes the whole plan and the run record in one
/// transaction, so the store always holds one whole snapshot.
public final class Store: Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating the file and its folder when missing) and migrates the store.
    public init(path: String) throws(StoreError) {
        self.path = path
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            // No access for others: the snapshot lists people, addresses and groups. SQLite
            // gives the -wal and -shm files the database file's mode.
            try FileManager.default.createDirectory(
                at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
            guard fd >= 0 || errno == EEXIST else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            if fd >= 0 { Glibc.close(fd) }
        } catch {
            throw StoreError(path: path, operation: "create \(path)", underlying: error)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        configuration.label = "groupsync.store"
        configuration.prepareDatabase { db in
            // WAL with synchronous=NORMAL cannot corrupt the database; a power cut may lose the
            // last run, which the next run redoes.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Small page caches: a large sync's peak memory is the snapshots it holds plus
            // these. The writer's 4 MiB suffice because a large apply appends rows with the
            // secondary indexes set aside (BulkLoad); readers answer point questions (the
            // daemon answers from its in-memory index) with SQLite's default 2 MiB. The
            // benchmark measured 16 MiB caches at 13–20 MiB more peak, for no faster run.
            try db.execute(sql: "PRAGMA cache_size = \(db.configuration.readonly ? -2048 : -4096)")
            // SQLite copies the WAL back into the database (and syncs both) after any commit
            // that leaves more than 1,000 pages in it by default: an incremental run after
            // 1,000 membership changes writes about 2,400, so every such run paid 0.05 s for
            // it. The writer lets the WAL reach 32 MiB instead; the daemon checkpoints after
            // each run, off the run's path (``checkpoint()``), and a run that finds the WAL
            // past 32 MiB (a first sync, or many runs of `groupsync sync` without a daemon)
            // still checkpoints as it commits.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Store.checkpointPages)") }
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Migrations.migrator.migrate(pool)
        } catch {
            throw StoreError(path: path, operation: "open", underlying: error)
        }
    }

    /// The WAL pages a commit may leave before it checkpoints them itself (32 MiB of 4 KiB pages).
    public static let checkpointPages = 8192

    /// Copies what the WAL holds back into the database file, without waiting for readers
    /// (a passive checkpoint: pages a reader still needs stay in the WAL for the next one).
    public func checkpoint() throws(StoreError) {
        do {
            try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        } catch {
            throw StoreError(path: path, operation: "checkpoint the write-ahead log", underlying: error)
        }
    }

    /// Closes the store's connections; later calls fail. The last connection to the file
    /// (in any process) copies the write-ahead log back into the database and removes it;
    /// left behind, the log is replayed by every process that next opens the store, and
    /// after a first sync it holds as many pages as the database itself.
    public func close() throws(StoreError) {
        do {
            // The readers first (releasing memory closes them): a read-only connection that
            // closes last cannot checkpoint, and GRDB's close() ends the writer first.
            pool.releaseMemory()
            try pool.close()
        } catch {
            throw StoreError(path: path, operation: "close", underlying: error)
        }
    }

    // MARK: Reading the snapshot

    /// The snapshot the store holds for a directory (empty before its first applied run).
    ///
    /// With `wanted`, the members of every group whose stored digest equals the wanted one
    /// are taken from `wanted` (shared, not copied) instead of being read: an unchanged
    /// directory costs one read of the users and groups, not of a million memberships.
    public func snapshot(directory: String, reusingMembersOf wanted: Snapshot? = nil) throws(StoreError) -> Snapshot {
        var snapshot = try header(directory: directory)
        try completeMembers(&snapshot, directory: directory, reusingMembersOf: wanted)
        return snapshot
    }

    /// Users, groups (with member digests and change markers) and unresolved member values,
    /// but no members: every group is in `unloadedGroups`. ``completeMembers`` adds them.
    /// With `usersByDigest`, users are read as digests only (`partialUsers`);
    /// ``loadUsers(_:directory:differingFrom:)`` then reads the ones a run needs.
    /// `resolutionDigests` (with `usersByDigest`) also fills `userResolutionDigests` and
    /// `userMarkers`, which only ``PriorState`` and recording moved markers need: a run that
    /// reads everything (`--full`) leaves them out and saves 200,000 entries on a large
    /// directory.
    public func header(directory: String, usersByDigest: Bool = false, resolutionDigests: Bool = true) throws(StoreError) -> Snapshot {
        try read("read the snapshot of \(directory)") { db in
            var snapshot = Snapshot()
            let totals = try Self.objectCounts(db, directory: directory)
            snapshot.groups.reserveCapacity(totals.groups)
            if usersByDigest {
                snapshot.partialUsers = true
                snapshot.userDigests.reserveCapacity(totals.users)
                if resolutionDigests {
                    snapshot.userResolutionDigests.reserveCapacity(totals.users)
                    snapshot.userMarkers.reserveCapacity(totals.users)
                }
                let users = try DirectRows(
                    db, sql: "SELECT id, digest, resolution_digest, change_marker_hash FROM \"user\" WHERE directory = ?", arguments: [directory])
                try users.forEach { row in
                    // 0: unknown, never equal to a computed digest, so the user is read.
                    let id = row.string(0)
                    snapshot.userDigests[id] = row.isNull(1) ? 0 : UInt64(bitPattern: row.int64(1))
                    if resolutionDigests { snapshot.userResolutionDigests[id] = row.isNull(2) ? 0 : UInt64(bitPattern: row.int64(2)) }
                    if resolutionDigests, !row.isNull(3) { snapshot.userMarkers[id] = UInt64(bitPattern: row.int64(3)) }
                }
            } else {
                snapshot.users.reserveCapacity(totals.users)
                for user in try Self.users(db, sql: "SELECT id, dn, username, mail, aliases, display_name, disabled, primary_group FROM \"user\" WHERE directory = ?", arguments: [directory]) {
                    snapshot.users[user.id] = user
                }
            }
            let groups = try Row.fetchCursor(db, sql: """
                SELECT id, dn, name, mail, members_sum, members_xor, members_count, change_marker, group_type, sid FROM "group" WHERE directory = ?
                """, arguments: [directory])
            while let row = try groups.next() {
                let group = DirectoryGroup(id: row[0], dn: row[1], name: row[2], mail: row[3], type: row[8], sid: row[9])
                snapshot.groups[group.id] = group
                snapshot.unloadedGroups.insert(group.id)
                if let marker: String = row[7] { snapshot.groupMarkers[group.id] = marker }
                if let sum: Int64 = row[4], let xor: Int64 = row[5], let count: Int = row[6] {
                    snapshot.memberDigests[group.id] = MemberDigest(sum: UInt64(bitPattern: sum), xor: UInt64(bitPattern: xor), count: count)
                }
            }
            let unresolved = try Row.fetchCursor(db, sql: """
                SELECT g.id, u.value FROM unresolved_member u JOIN "group" g ON g.ref = u.group_ref WHERE g.directory = ?
                """, arguments: [directory])
            while let row = try unresolved.next() {
                snapshot.unresolved[row[0] as String, default: []].insert(row[1])
            }
            return snapshot
        }
    }

    /// Reads the users of a digest-only header that a run needs: those whose digest differs
    /// from `wanted`'s, and those `wanted` lacks.
    public func loadUsers(_ snapshot: inout Snapshot, directory: String, differingFrom wanted: Snapshot) throws(StoreError) {
        let needed = snapshot.usersToLoad(differingFrom: wanted)
        guard !needed.isEmpty else { return }
        let users: [DirectoryUser] = try read("read \(needed.count) users of \(directory)") { db in
            if needed.count > 1000 {
                let wantedIDs = Set(needed)
                return try Self.users(db, sql: "SELECT id, dn, username, mail, aliases, display_name, disabled, primary_group FROM \"user\" WHERE directory = ?", arguments: [directory])
                    .filter { wantedIDs.contains($0.id) }
            }
            var result: [DirectoryUser] = []
            for id in needed {
                result += try Self.users(db, sql: """
                    SELECT id, dn, username, mail, aliases, display_name, disabled, primary_group FROM "user" WHERE directory = ? AND id = ?
                    """, arguments: [directory, id])
            }
            return result
        }
        for user in users { snapshot.users[user.id] = user }
    }

    /// The `aliases` column: a JSON list, `[]` (the common case) without decoding.
    static func aliases(_ json: String, decoder: JSONDecoder) throws -> [String] {
        json == "[]" ? [] : try decoder.decode([String].self, from: Data(json.utf8))
    }

    /// Users from rows of (id, dn, username, mail, aliases, display_name, disabled, primary_group). Raw rows
    /// rather than Codable records: this can read every user of a directory.
    static func users(_ db: Database, sql: String, arguments: StatementArguments) throws -> [DirectoryUser] {
        let decoder = JSONDecoder()
        var result: [DirectoryUser] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            let aliases = try Self.aliases(row[4], decoder: decoder)
            result.append(DirectoryUser(
                id: row[0], dn: row[1], username: row[2], mail: row[3], aliases: aliases, displayName: row[5], disabled: row[6],
                primaryGroup: row[7]))
        }
        return result
    }

    /// Fills in the members of a ``header(directory:)``: taken from `wanted` where the digests
    /// agree (left unloaded where `wanted` left them unloaded), read from the store elsewhere.
    public func completeMembers(_ snapshot: inout Snapshot, directory: String, reusingMembersOf wanted: Snapshot? = nil) throws(StoreError) {
        let unread = snapshot.reuseMembers(of: wanted)
        guard !unread.isEmpty else { return }
        let loaded = unread.count > 1000
            ? try allMembers(directory: directory).filter { unread.contains($0.key) }
            : try members(directory: directory, groupIDs: unread)
        snapshot.fillMembers(loaded, of: unread)
    }

    /// Counts of the stored snapshot of a directory.
    public func totals(directory: String) throws(StoreError) -> RunRecord.Totals {
        try read("count the snapshot of \(directory)") { db in try Self.totals(db, directory: directory) }
    }

    /// How many users and groups the stored snapshot of a directory has; cheap (no join).
    static func objectCounts(_ db: Database, directory: String) throws -> (users: Int, groups: Int) {
        (
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"user\" WHERE directory = ?", arguments: [directory]) ?? 0,
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"group\" WHERE directory = ?", arguments: [directory]) ?? 0
        )
    }

    /// The memberships are the sum of the groups' member digest counts — the digests describe
    /// exactly the membership rows written with them — which reads 10,000 group rows instead of
    /// a million membership rows (an incremental run counts twice: 0.2 s of a 1 s run); the
    /// rows are counted when a group's digest is unknown.
    static func totals(_ db: Database, directory: String) throws -> RunRecord.Totals {
        func count(_ sql: String) throws -> Int {
            try Int.fetchOne(db, sql: sql, arguments: [directory]) ?? 0
        }
        let digests = try Row.fetchOne(db, sql: """
            SELECT COUNT(*), COUNT(members_count), COALESCE(SUM(members_count), 0) FROM "group" WHERE directory = ?
            """, arguments: [directory])
        let (groups, counted, summed): (Int, Int, Int) = digests.map { ($0[0], $0[1], $0[2]) } ?? (0, 0, 0)
        return RunRecord.Totals(
            users: try count("SELECT COUNT(*) FROM \"user\" WHERE directory = ?"),
            groups: groups,
            memberships: counted == groups
                ? summed : try count("SELECT COUNT(*) FROM membership m JOIN \"group\" g ON g.ref = m.group_ref WHERE g.directory = ?"),
            unresolvedMembers: try count("SELECT COUNT(*) FROM unresolved_member u JOIN \"group\" g ON g.ref = u.group_ref WHERE g.directory = ?"))
    }

    // MARK: Writing

    /// Applies a plan to a directory's snapshot and records the run with its changes, in one
    /// transaction. Returns the run with its id and the totals after the apply.
    @discardableResult
    public func apply(_ plan: Plan, run: RunRecord, syncState: SyncState? = nil) throws(StoreError) -> RunRecord {
        try write("apply run of \(run.directory)") { db in
            try SnapshotWriter(db: db, directory: run.directory).write(plan)
            try Self.save(syncState, directory: run.directory, db: db)
            var run = run
            run.totals = try Self.totals(db, directory: run.directory)
            run.finishedAt = Date()
            try Self.insert(&run, changes: plan.changes, db: db)
            return run
        }
    }

    /// Records a run that changed no snapshot (no changes, dry run, stopped by a limit, failed),
    /// with the changes it planned, if any.
    ///
    /// `markers` and `userMarkers` are group and user change markers to remember: only for a
    /// run whose outcome leaves the store equal to the directory (no changes), never for a
    /// dry or stopped run, whose unapplied changes the next run must still see.
    @discardableResult
    /// `syncState`, likewise, only for a run that leaves the store equal to the directory.
    public func record(
        _ run: RunRecord, changes: [PlannedChange] = [], markers: [String: String] = [:], userMarkers: [String: UInt64] = [:],
        syncState: SyncState? = nil
    ) throws(StoreError) -> RunRecord {
        try write("record run of \(run.directory)") { db in
            var run = run
            let writer = SnapshotWriter(db: db, directory: run.directory)
            try writer.writeMarkers(markers)
            try writer.writeUserMarkers(userMarkers)
            try Self.save(syncState, directory: run.directory, db: db)
            try Self.insert(&run, changes: changes, db: db)
            return run
        }
    }

    /// Records a run as it starts (outcome `running`), so it has an id while it runs;
    /// ``apply(_:run:)`` or ``record(_:changes:markers:)`` then completes the same row.
    public func beginRun(_ run: RunRecord) throws(StoreError) -> RunRecord {
        try write("record the start of a run of \(run.directory)") { db in
            var run = run
            run.outcome = .running
            try run.insert(db)
            return run
        }
    }

    @discardableResult
    public func markInterruptedRuns(directories: [String]) throws(StoreError) -> Int {
        try write("mark interrupted runs") { db in
            try db.execute(literal: """
                UPDATE run SET outcome = 'failed', message = 'interrupted: the process ended during the run; nothing was applied'
                WHERE outcome = 'running' AND directory IN \(directories)
                """)
            return db.changesCount
        }
    }

    private static func insert(_ run: inout RunRecord, changes: [PlannedChange], db: Database) throws {
        if run.id == nil { try run.insert(db) } else { try run.update(db) }
        guard let runID = run.id else { return }
        let statement = try db.makeStatement(sql: """
            INSERT INTO run_change (run_id, seq, kind, action, object_id, dn, summary, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let encoder = JSONEncoder()
        for (seq, change) in changes.enumerated() {
            let fields = change.fields.isEmpty ? "[]" : String(decoding: try encoder.encode(change.fields), as: UTF8.self)
            try statement.execute(arguments: [
                runID, seq, change.kind.rawValue, change.action.rawValue, change.objectID, change.dn, change.summary, fields,
            ])
        }
    }

    // MARK: Run history

    /// The most recent runs, newest first, of one directory or of all.
    public func runs(directory: String? = nil, limit: Int = 20) throws(StoreError) -> [RunRecord] {
        try read("list runs") { db in
            var request = RunRecord.order(RunRecord.Columns.id.desc).limit(limit)
            if let directory { request = request.filter(RunRecord.Columns.directory == directory) }
            return try request.fetchAll(db)
        }
    }

    public func run(id: Int64) throws(StoreError) -> RunRecord? {
        try read("read run \(id)") { db in try RunRecord.fetchOne(db, key: id) }
    }

    /// The changes a run applied or planned, in order.
    public func changes(runID: Int64, limit: Int? = nil) throws(StoreError) -> [PlannedChange] {
        try read("read the changes of run \(runID)") { db in
            var request = RunChangeRecord.filter(RunChangeRecord.Columns.runID == runID).order(RunChangeRecord.Columns.seq)
            if let limit { request = request.limit(limit) }
            return try request.fetchAll(db).map(\.change)
        }
    }

    /// The last run of a directory that applied (or found nothing to apply).
    public func lastSuccessfulRun(directory: String) throws(StoreError) -> RunRecord? {
        try read("read the last run of \(directory)") { db in
            try RunRecord.filter(RunRecord.Columns.directory == directory)
                .filter(["applied", "no-changes"].contains(Column("outcome")))
                .order(RunRecord.Columns.id.desc).fetchOne(db)
        }
    }

    /// The last run of a directory that decided something: applied, found nothing to apply,
    /// stopped, or failed (dry runs and the run in progress do not count).
    public func lastDecisiveRun(directory: String) throws(StoreError) -> RunRecord? {
        try read("read the last run of \(directory)") { db in
            try RunRecord.filter(RunRecord.Columns.directory == directory)
                .filter(!["dry-run", "running"].contains(Column("outcome")))
                .order(RunRecord.Columns.id.desc).fetchOne(db)
        }
    }

    /// SQLite's `PRAGMA integrity_check`: the problems it finds, none when the file is sound.
    public func integrityProblems() throws(StoreError) -> [String] {
        try read("check the integrity") { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
        }
    }

    // MARK: Plumbing

    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw StoreError(path: path, operation: operation, underlying: error)
        }
    }

    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.write(body)
        } catch {
            throw StoreError(path: path, operation: operation, underlying: error)
        }
    }
}

/// A store failure: what was being done, on which file, and SQLite's own message.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var message: String

    public init(path: String, operation: String, underlying: any Error) {
        self.path = path
        self.operation = operation
        if let error = underlying as? DatabaseError {
            message = "\(error.message ?? "SQLite error") (SQLite code \(error.resultCode.rawValue))"
        } else {
            message = String(describing: underlying)
        }
    }

    public var description: String { "store \(path): cannot \(operation): \(message)" }
}
