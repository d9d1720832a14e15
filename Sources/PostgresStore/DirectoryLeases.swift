import Foundation
import PostgresNIO
import SyncConfig

/// One daemon's right to sync one directory, until `expiresAt` unless renewed.
public struct DirectoryLease: Sendable, Equatable {
    public var directory: String
    public var owner: String
    /// Moves whenever the owner changes: a fencing token. A run checks it in its apply
    /// transaction (``DirectoryLeases/confirm(_:in:)``), so a daemon that was paused past its
    /// lease and wakes up cannot commit over the new owner's runs.
    public var generation: Int64
    public var acquiredAt: Date
    public var expiresAt: Date
}

/// Which daemon syncs which directory when several daemons share one PostgreSQL store.
///
/// A lease row per directory with an expiry, decided by the database: taking a lease that
/// is free, expired or already one's own is one `INSERT … ON CONFLICT DO UPDATE … WHERE`,
/// which PostgreSQL evaluates against the row's latest version under a row lock, so two
/// daemons asking at once cannot both get it. Times are the database server's (`now()`,
/// `clock_timestamp()`), so the daemons' own clocks need not agree. A daemon renews its
/// leases well within their duration; one that dies stops renewing and another takes the
/// directory over once the lease has expired.
public struct DirectoryLeases: Sendable {
    let session: PostgresSession

    public init(session: PostgresSession) {
        self.session = session
    }

    /// Takes or renews the lease on `directory` for `owner`, valid for `duration` from now.
    /// Returns the lease when `owner` holds it afterwards; nil when another owner holds an
    /// unexpired one (``current(_:)`` says whom).
    public func acquire(_ directory: String, owner: String, for duration: Duration) throws(PostgresStoreError) -> DirectoryLease? {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let rows = try session.query("""
            INSERT INTO directory_lease AS l (directory, owner, generation, acquired_at, renewed_at, expires_at)
            VALUES (\(directory), \(owner), 1, now(), now(), now() + make_interval(secs => \(seconds)))
            ON CONFLICT (directory) DO UPDATE SET
                owner = EXCLUDED.owner,
                generation = CASE WHEN l.owner = EXCLUDED.owner THEN l.generation ELSE l.generation + 1 END,
                acquired_at = CASE WHEN l.owner = EXCLUDED.owner THEN l.acquired_at ELSE now() END,
                renewed_at = now(),
                expires_at = EXCLUDED.expires_at
            WHERE l.owner = EXCLUDED.owner OR l.expires_at <= now()
            RETURNING directory, owner, generation, acquired_at, expires_at
            """)
        return try rows.first.map(Self.lease)
    }

    /// Gives the lease up (a clean shutdown), so another daemon need not wait for it to
    /// expire. Returns whether `owner` held it.
    @discardableResult
    public func release(_ directory: String, owner: String) throws(PostgresStoreError) -> Bool {
        !(try session.query("DELETE FROM directory_lease WHERE directory = \(directory) AND owner = \(owner) RETURNING 1")).isEmpty
    }

    /// Releases every lease `owner` holds; returns the directories it held.
    @discardableResult
    public func releaseAll(owner: String) throws(PostgresStoreError) -> [String] {
        try session.query("DELETE FROM directory_lease WHERE owner = \(owner) RETURNING directory").map { row throws(PostgresStoreError) in
            try Self.decode(String.self, row)
        }.sorted()
    }

    /// The unexpired lease on `directory`, whoever holds it.
    public func current(_ directory: String) throws(PostgresStoreError) -> DirectoryLease? {
        try session.query("""
            SELECT directory, owner, generation, acquired_at, expires_at FROM directory_lease
            WHERE directory = \(directory) AND expires_at > now()
            """).first.map(Self.lease)
    }

    /// Every unexpired lease, by directory (what `status` shows: which daemon syncs what).
    public func all() throws(PostgresStoreError) -> [DirectoryLease] {
        try session.query("""
            SELECT directory, owner, generation, acquired_at, expires_at FROM directory_lease
            WHERE expires_at > now() ORDER BY directory
            """).map(Self.lease)
    }

    /// Inside a run's apply transaction, before it commits: locks the lease row and checks
    /// that `lease` is still the directory's current lease (same owner and generation, not
    /// expired by the database's clock). Throws when it is not, so the caller rolls back.
    /// Holding the row lock until commit keeps another daemon from taking the lease over
    /// while the apply finishes.
    public static func confirm(_ lease: DirectoryLease, in transaction: PostgresSession.Transaction) throws(PostgresStoreError) {
        let rows = try transaction.query("""
            SELECT owner, generation, expires_at > clock_timestamp() FROM directory_lease
            WHERE directory = \(lease.directory) FOR UPDATE
            """)
        guard let row = rows.first else {
            throw PostgresStoreError("the lease on directory \(lease.directory) is gone (released or taken over): this run's changes were not applied")
        }
        let (owner, generation, valid) = try decode((String, Int64, Bool).self, row)
        guard owner == lease.owner, generation == lease.generation else {
            throw PostgresStoreError(
                "directory \(lease.directory) is now synced by \(owner) (lease generation \(generation), this run held \(lease.generation)): this run's changes were not applied")
        }
        guard valid else {
            throw PostgresStoreError("the lease on directory \(lease.directory) expired during this run: its changes were not applied")
        }
    }

    private static func lease(_ row: PostgresRow) throws(PostgresStoreError) -> DirectoryLease {
        let (directory, owner, generation, acquired, expires) = try decode((String, String, Int64, Date, Date).self, row)
        return DirectoryLease(directory: directory, owner: owner, generation: generation, acquiredAt: acquired, expiresAt: expires)
    }

    static func decode<T: PostgresDecodable>(_ type: T.Type, _ row: PostgresRow) throws(PostgresStoreError) -> T {
        do {
            return try row.decode(T.self)
        } catch {
            throw PostgresStoreError("unexpected row from the directory_lease table: \(String(reflecting: error))")
        }
    }

    static func decode<each T: PostgresDecodable>(_ type: (repeat each T).Type, _ row: PostgresRow) throws(PostgresStoreError) -> (repeat each T) {
        do {
            return try row.decode((repeat each T).self)
        } catch {
            throw PostgresStoreError("unexpected row from the directory_lease table: \(String(reflecting: error))")
        }
    }
}
