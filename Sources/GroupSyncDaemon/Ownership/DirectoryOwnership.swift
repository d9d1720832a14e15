import Foundation
import PostgresStore
import Synchronization
import SyncStore

/// Which directories this daemon syncs when several daemons share a PostgreSQL store: those
/// whose lease it holds (``LeaseService`` renews them). With an SQLite store there is one
/// daemon and it owns every directory (no instance of this is made).
///
/// The leases held are also the store's fence: a run commits only while the lease it ran
/// under is still the directory's current one (``PostgresStore/fenceRuns(with:)``).
public final class DirectoryOwnership: Sendable {
    /// How this daemon names itself in leases, requests and `status`.
    public let name: String
    let store: PostgresStore
    let lease: Duration
    private let held = Mutex<[String: DirectoryLease]>([:])
    /// Set once ``LeaseService`` has finished its first round (leases taken or not).
    private let settled = Mutex(false)
    private let requestSession = Mutex<PostgresSession?>(nil)

    public init(store: PostgresStore, name: String?, lease: Duration) {
        self.store = store
        self.lease = lease
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let hostname = host.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.name = name ?? "\(hostname):\(getpid())"
        store.fenceRuns { [weak self] directory in self?.held.withLock { $0[directory] } }
    }

    public func owns(_ directory: String) -> Bool { held.withLock { $0[directory] != nil } }
    public var ownedDirectories: Set<String> { held.withLock { Set($0.keys) } }

    func setHeld(_ leases: [String: DirectoryLease]) {
        held.withLock { $0 = leases }
        settled.withLock { $0 = true }
    }

    /// Whether ``LeaseService`` has finished its first round of leases.
    var hasSettled: Bool { settled.withLock { $0 } }

    /// Waits (at most `limit`) until the first round of leases has been tried, so that what
    /// happens at start-up — an `on_start` run, a watch batch, a manual sync sent the
    /// moment the socket answers — is decided on who owns the directory, not on the empty
    /// set every daemon starts with. Returns at once after the first round.
    func firstRound(within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while !hasSettled, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The requests table on a connection of this daemon's own (not the store's, which a
    /// run's apply transaction may hold for seconds).
    func requests() throws(StoreError) -> SyncRequests {
        if let session = requestSession.withLock({ $0 }) { return SyncRequests(session: session) }
        let session = try store.coordinationSession()
        requestSession.withLock { $0 = session }
        return SyncRequests(session: session)
    }
}
