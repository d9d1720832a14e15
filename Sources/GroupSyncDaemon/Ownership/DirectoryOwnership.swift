import Foundation
import PostgresStore
import SyncStore

/// Which directories this daemon syncs when several daemons share a PostgreSQL store: those
/// whose lease it holds (``LeaseService`` renews them). With an SQLite store there is one
/// daemon and it owns every directory (no instance of this is made).
public actor DirectoryOwnership {
    /// How this daemon names itself in leases, requests and `status`.
    public nonisolated let name: String
    nonisolated let store: PostgresStore
    nonisolated let lease: Duration
    private var owned: Set<String> = []
    private var requestSession: PostgresSession?

    public init(store: PostgresStore, name: String?, lease: Duration) {
        self.store = store
        self.lease = lease
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        self.name = name ?? "\(String(cString: host)):\(getpid())"
    }

    public func owns(_ directory: String) -> Bool { owned.contains(directory) }
    public var ownedDirectories: Set<String> { owned }

    func setOwned(_ directories: Set<String>) { owned = directories }

    /// The requests table on a connection of this daemon's own (not the store's, which a
    /// run's apply transaction may hold for seconds).
    func requests() throws(StoreError) -> SyncRequests {
        if let requestSession { return SyncRequests(session: requestSession) }
        let session = try store.coordinationSession()
        requestSession = session
        return SyncRequests(session: session)
    }
}
