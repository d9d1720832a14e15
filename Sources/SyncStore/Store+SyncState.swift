import Foundation
import GRDB

/// Where a directory's next incremental run starts: the change feed's cookie as of the last
/// applied (or unchanged) run. Written in the same transaction as that run, so the cookie
/// never runs ahead of the snapshot.
public struct SyncState: Sendable, Equatable {
    /// `dirsync` or `usn` (Active Directory), `syncrepl` (OpenLDAP, RFC 4533).
    public var method: String
    /// The server the cookie belongs to; a cookie from another server is not used.
    public var server: String?
    /// A digest of the directory's configuration for what runs read; another digest means
    /// the configuration changed and the next run must be full.
    public var scopeDigest: String = ""
    public var cookie: [UInt8]
    /// AD: the objectGUIDs of the containers in scope at the full run.
    public var containers: Set<String>
    /// When the full run that started this chain of incremental runs finished.
    public var fullRunAt: Date
    public var updatedAt: Date

    public init(method: String, server: String?, cookie: [UInt8], containers: Set<String> = [], fullRunAt: Date, updatedAt: Date = Date()) {
        self.containers = containers
        self.method = method
        self.server = server
        self.cookie = cookie
        self.fullRunAt = fullRunAt
        self.updatedAt = updatedAt
    }
}

extension Store {
    /// The directory's incremental sync state, nil when there is none (no full run yet, or
    /// incremental runs are off).
    public func syncState(directory: String) throws(StoreError) -> SyncState? {
        try read("read the sync state of \(directory)") { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT method, server, cookie, full_run_at, updated_at, containers, scope_digest FROM sync_state WHERE directory = ?
                """, arguments: [directory]) else { return nil }
            let cookie: Data = row[2]
            let containers = try JSONDecoder().decode([String].self, from: Data((row[5] as String).utf8))
            var state = SyncState(
                method: row[0], server: row[1], cookie: [UInt8](cookie), containers: Set(containers), fullRunAt: Self.parseDate(row[3]),
                updatedAt: Self.parseDate(row[4]))
            state.scopeDigest = row[6]
            return state
        }
    }

    /// Replaces the directory's sync state outside a run (tests, store migrations).
    public func saveSyncState(_ state: SyncState, directory: String) throws(StoreError) {
        try write("save the sync state of \(directory)") { db in try Self.save(state, directory: directory, db: db) }
    }

    /// Forgets the directory's sync state: its next run is full.
    public func clearSyncState(directory: String) throws(StoreError) {
        try write("clear the sync state of \(directory)") { db in
            try db.execute(sql: "DELETE FROM sync_state WHERE directory = ?", arguments: [directory])
        }
    }

    static func save(_ state: SyncState?, directory: String, db: Database) throws {
        guard let state else { return }
        try db.execute(sql: """
            INSERT INTO sync_state (directory, method, server, scope_digest, cookie, containers, full_run_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (directory) DO UPDATE SET method = excluded.method, server = excluded.server, scope_digest = excluded.scope_digest,
                cookie = excluded.cookie, containers = excluded.containers, full_run_at = excluded.full_run_at, updated_at = excluded.updated_at
            """, arguments: [
                directory, state.method, state.server, state.scopeDigest, Data(state.cookie),
                String(decoding: try JSONEncoder().encode(state.containers.sorted()), as: UTF8.self),
                Self.formatDate(state.fullRunAt), Self.formatDate(state.updatedAt),
            ])
    }

    private static func formatDate(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon))
    }

    private static func parseDate(_ text: String) -> Date {
        (try? Date(text, strategy: .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon)))
            ?? .distantPast
    }
}

extension Store {
    /// Proves the store file can be written (`groupsync check`): a write transaction that
    /// creates and drops a table.
    public func probeWritable() throws(StoreError) {
        try write("write to the store") { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS check_probe (x); DROP TABLE check_probe")
        }
    }
}

extension Store {
    /// The SQLite library this process runs with, e.g. "3.40.1".
    public static var sqliteVersion: String {
        (try? DatabaseQueue().read { try String.fetchOne($0, sql: "SELECT sqlite_version()") }) ?? "unknown"
    }
}
