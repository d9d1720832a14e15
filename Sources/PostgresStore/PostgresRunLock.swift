import Foundation
import PostgresNIO
import SyncConfig
import SyncStore
import Verification

/// The run lock of a PostgreSQL store: per directory, a session-level advisory lock on a
/// connection of its own, held for the run. Daemons that own different directories of one
/// store sync them side by side; two syncs of one directory never interleave. PostgreSQL
/// releases the locks when the connection ends — on release, on exit, or when the process
/// dies and its connection drops — as the kernel releases the SQLite store's flock.
public final class PostgresRunLock: StoreRunLock {
    private let session: PostgresSession
    /// "gsrl" (groupsync run lock) as the first key of the two-key advisory locks; the
    /// second is the server's `hashtext` of the directory name, the same in every process
    /// that shares the store.
    static let classKey: Int32 = 0x6773_726C

    init(settings: PostgresSettings, directories: [String]) throws(StoreLockError) {
        let label = "postgres://" + settings.label
        do {
            session = try PostgresSession.connect(settings)
        } catch {
            throw StoreLockError(path: label, holder: nil, reason: "\(error)")
        }
        // In one order everywhere, so two syncs of overlapping directory sets cannot each
        // hold a part of what the other waits for (they do not wait: the second is refused).
        for directory in Set(directories).sorted() {
            let taken: Bool
            do {
                taken = try session.query("SELECT pg_try_advisory_lock(\(Self.classKey), hashtext(\(directory)))").first?.decode(Bool.self) ?? false
            } catch {
                // (Throwing from here runs deinit, which releases what was taken and closes.)
                throw StoreLockError(path: label, holder: nil, reason: "\(error)")
            }
            guard taken else {
                let holder = Self.holder(session, directory: directory)
                throw StoreLockError(path: label, holder: holder, reason: nil, directory: directory)
            }
        }
    }

    /// Who holds a directory's lock: the backend's client address and application name.
    private static func holder(_ session: PostgresSession, directory: String) -> String? {
        let rows = try? session.query("""
            SELECT coalesce(host(a.client_addr), 'local'), a.application_name, a.pid FROM pg_locks l
            JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.classid = \(Self.classKey)::oid AND l.objid = hashtext(\(directory))::oid
            """)
        guard let row = rows?.first, let (address, application, pid) = try? row.decode((String, String, Int32).self) else { return nil }
        return "\(application) from \(address), PostgreSQL backend \(pid)"
    }

    deinit {
        _ = try? session.query("SELECT pg_advisory_unlock_all()")
        session.close()
    }
}

extension PostgresStore: SnapshotStore {
    public var location: String { label }

    public func runLock(directories: [String]) throws(StoreLockError) -> any StoreRunLock {
        try PostgresRunLock(settings: settings, directories: directories)
    }

    /// Ends the store's connection (the run lock and the daemons' coordination have their own).
    public func close() throws(StoreError) { session.close() }

    public func withAnyCatalog<T>(_ body: (any Catalog) throws -> T) throws(StoreError) -> T {
        try withCatalog { try body($0) }
    }
}
