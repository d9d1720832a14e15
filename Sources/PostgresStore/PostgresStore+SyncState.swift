import Foundation
import NIOCore
import PostgresNIO
import SyncStore

/// Where a directory's next incremental run starts, as ``Store`` keeps it in SQLite.
extension PostgresStore {
    public func syncState(directory: String) throws(StoreError) -> SyncState? {
        let operation = "read the sync state of \(directory)"
        guard let row = try query(operation, """
            SELECT method, server, cookie, full_run_at, updated_at, containers, scope_digest FROM sync_state WHERE directory = \(directory)
            """).first else { return nil }
        let (method, server, cookie, fullRunAt, updatedAt, containers, scopeDigest) = try decode(
            operation, row, as: (String, String?, ByteBuffer, Date, Date, String, String).self)
        let containerList: [String]
        do {
            containerList = try JSONDecoder().decode([String].self, from: Data(containers.utf8))
        } catch {
            throw StoreError(path: label, operation: operation, underlying: error)
        }
        var state = SyncState(
            method: method, server: server, cookie: Array(cookie.readableBytesView), containers: Set(containerList), fullRunAt: fullRunAt,
            updatedAt: updatedAt)
        state.scopeDigest = scopeDigest
        return state
    }

    /// Replaces the directory's sync state outside a run.
    public func saveSyncState(_ state: SyncState, directory: String) throws(StoreError) {
        try transaction("save the sync state of \(directory)") { transaction in try Self.save(state, directory: directory, transaction) }
    }

    /// Forgets the directory's sync state: its next run is full.
    public func clearSyncState(directory: String) throws(StoreError) {
        _ = try query("clear the sync state of \(directory)", "DELETE FROM sync_state WHERE directory = \(directory)")
    }

    static func save(_ state: SyncState, directory: String, _ transaction: PostgresSession.Transaction) throws {
        let containers = String(decoding: try JSONEncoder().encode(state.containers.sorted()), as: UTF8.self)
        try transaction.query("""
            INSERT INTO sync_state (directory, method, server, scope_digest, cookie, containers, full_run_at, updated_at)
            VALUES (\(directory), \(state.method), \(state.server), \(state.scopeDigest), \(ByteBuffer(bytes: state.cookie)), \(containers),
                    \(state.fullRunAt), \(state.updatedAt))
            ON CONFLICT (directory) DO UPDATE SET method = EXCLUDED.method, server = EXCLUDED.server, scope_digest = EXCLUDED.scope_digest,
                cookie = EXCLUDED.cookie, containers = EXCLUDED.containers, full_run_at = EXCLUDED.full_run_at, updated_at = EXCLUDED.updated_at
            """)
    }
}
