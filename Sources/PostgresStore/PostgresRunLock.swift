import Foundation
import PostgresNIO
import SyncConfig
import SyncStore
import Verification

/// The run lock of a PostgreSQL store: a session-level advisory lock on a connection of its
/// own, held for the run. PostgreSQL releases it when the connection ends — on release, on
/// exit, or when the process dies and its connection drops — as the kernel releases the
/// SQLite store's flock.
public final class PostgresRunLock: StoreRunLock {
    private let session: PostgresSession
    /// "groupsync-run" as a number: the same key in every process that shares the store.
    static let key: Int64 = 0x6773_2D72_756E_6C6B

    init(settings: PostgresSettings) throws(StoreLockError) {
        let label = "postgres://" + settings.label
        do {
            session = try PostgresSession.connect(settings)
        } catch {
            throw StoreLockError(path: label, holder: nil, reason: "\(error)")
        }
        let taken: Bool
        do {
            taken = try session.query("SELECT pg_try_advisory_lock(\(Self.key))").first?.decode(Bool.self) ?? false
        } catch {
            throw StoreLockError(path: label, holder: nil, reason: "\(error)")
        }
        guard taken else {
            throw StoreLockError(path: label, holder: Self.holder(session), reason: nil)
        }
    }

    /// Who holds the lock: the backend's client address and application name.
    private static func holder(_ session: PostgresSession) -> String? {
        let rows = try? session.query("""
            SELECT coalesce(host(a.client_addr), 'local'), a.application_name, a.pid FROM pg_locks l
            JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = \(Int64(Self.key >> 32))::oid AND l.objid = \(Int64(Self.key & 0xFFFF_FFFF))::oid
            """)
        guard let row = rows?.first, let (address, application, pid) = try? row.decode((String, String, Int32).self) else { return nil }
        return "\(application) from \(address), PostgreSQL backend \(pid)"
    }

    deinit {
        _ = try? session.query("SELECT pg_advisory_unlock(\(Self.key))")
        session.close()
    }
}

extension PostgresStore: SnapshotStore {
    public var location: String { label }

    public func runLock() throws(StoreLockError) -> any StoreRunLock { try PostgresRunLock(settings: settings) }

    public func withAnyCatalog<T>(_ body: (any Catalog) throws -> T) throws(StoreError) -> T {
        try withCatalog { try body($0) }
    }
}
