import Foundation
import Logging
import PostgresNIO
import SyncConfig
import SyncCore
import Synchronization
import SyncStore

/// The store on PostgreSQL (issue 10): the same tables as the SQLite store, the same
/// answers. Built in parts; this one holds run history, configuration versions, landing
/// reports and sync state. The snapshot (users, groups, memberships), the catalog for
/// verification and the switch-over behind the store interface are not built yet.
public final class PostgresStore: Sendable {
    public let settings: PostgresSettings
    let session: PostgresSession
    private let fences = Mutex<(@Sendable (String) -> DirectoryLease?)?>(nil)

    /// Makes every run's commit conditional on a lease: `lease(directory)` gives the lease
    /// this daemon holds on the directory (nil: none), and a run's apply (or record) commits
    /// only while that lease is still the directory's current one — checked under the
    /// lease row's lock in the run's own transaction. A daemon that lost a directory while
    /// paused mid-run cannot commit over the new owner's runs. Unset (the command line),
    /// runs commit under the run lock alone.
    public func fenceRuns(with lease: @escaping @Sendable (String) -> DirectoryLease?) {
        fences.withLock { $0 = lease }
    }

    /// Inside a run's transaction: fails unless the fence (when set) still holds for `directory`.
    func checkFence(_ directory: String, _ transaction: PostgresSession.Transaction) throws {
        guard let fence = fences.withLock({ $0 }) else { return }
        guard let lease = fence(directory) else {
            throw PostgresStoreError("this daemon does not hold the lease on directory \(directory): its run's changes were not applied")
        }
        try DirectoryLeases.confirm(lease, in: transaction)
    }

    /// Connects and brings the schema up to date.
    public init(settings: PostgresSettings, logger: Logger = Logger(label: "groupsync.postgres")) throws(StoreError) {
        self.settings = settings
        do {
            session = try PostgresSession.connect(settings, logger: logger)
            try PostgresSchema.migrate(session)
        } catch {
            throw StoreError(path: "postgres://" + settings.label, operation: "open", underlying: error)
        }
    }

    /// What messages call the store.
    public var label: String { "postgres://" + settings.label }

    /// A connection of its own for the daemons' coordination (leases, requests), so that a
    /// long apply transaction on the store's connection never delays a lease renewal.
    public func coordinationSession() throws(StoreError) -> PostgresSession {
        do {
            return try PostgresSession.connect(settings)
        } catch {
            throw StoreError(path: label, operation: "connect for the daemons' leases", underlying: error)
        }
    }

    /// The unexpired lease on a directory: which daemon syncs it (`status`).
    public func leaseOwner(directory: String) throws(StoreError) -> String? {
        let operation = "read the lease of \(directory)"
        return try query(operation, "SELECT owner FROM directory_lease WHERE directory = \(directory) AND expires_at > now()").first.map {
            row throws(StoreError) in try decode(operation, row, as: String.self)
        }
    }

    func query(_ operation: @autoclosure () -> String, _ query: PostgresQuery) throws(StoreError) -> [PostgresRow] {
        do {
            return try session.query(query)
        } catch {
            throw StoreError(path: label, operation: operation(), underlying: error)
        }
    }

    func transaction<T>(_ operation: @autoclosure () -> String, _ body: (PostgresSession.Transaction) throws -> T) throws(StoreError) -> T {
        do {
            return try session.transaction(.readCommitted, body)
        } catch {
            throw StoreError(path: label, operation: operation(), underlying: error)
        }
    }

    func decode<each T: PostgresDecodable>(_ operation: @autoclosure () -> String, _ row: PostgresRow, as type: (repeat each T).Type) throws(StoreError) -> (repeat each T) {
        do {
            return try row.decode((repeat each T).self)
        } catch {
            throw StoreError(path: label, operation: operation(), underlying: error)
        }
    }
}
