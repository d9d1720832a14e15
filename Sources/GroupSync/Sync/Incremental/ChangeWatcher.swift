import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncCore
import SyncStore

/// Watch mode's ear on the directory: an RFC 4533 refreshAndPersist search from the stored
/// position over the same base and filter incremental runs use, asking only for entryUUID.
/// It applies nothing itself: each change the server announces calls `changed`, and the
/// daemon batches those into incremental runs, which read the exact changes from the
/// stored position (so a change is never lost between the two).
public struct ChangeWatcher: Sendable {
    public let directory: DirectoryConfig
    let store: any SnapshotStore
    let logger: Logger

    public init(directory: DirectoryConfig, store: any SnapshotStore, logger: Logger) {
        self.directory = directory
        self.store = store
        self.logger = logger
    }

    public enum WatchError: Error, CustomStringConvertible {
        /// The server or the configuration offers no content synchronization.
        case unsupported(String)
        /// No full run has taken a position yet.
        case noPosition

        public var description: String {
            switch self {
            case .unsupported(let reason): reason
            case .noPosition: "no feed position yet: a full run must take one first"
            }
        }
    }

    /// Keeps the search open until the task is cancelled (returns) or the connection fails
    /// (throws). `connected` is called once the search is open.
    public func watch(connected: @Sendable () async -> Void, changed: @Sendable () async -> Void) async throws {
        let session = try await directory.openSession(logger: logger)
        do {
            try await watch(session, connected: connected, changed: changed)
            await session.close()
        } catch {
            await session.close()
            throw error
        }
    }

    private func watch(_ session: LDAPSession, connected: @Sendable () async -> Void, changed: @Sendable () async -> Void) async throws {
        let root = try await session.rootDSE()
        let flavour = DirectoryReader(directory: directory, logger: logger).flavour(of: root)
        guard let feed = ChangeFeeds.feed(for: directory, flavour: flavour, root: root, store: store, logger: logger) as? ContentSyncChangeFeed else {
            throw WatchError.unsupported("watch mode needs an OpenLDAP server with content synchronization (the syncprov overlay)")
        }
        guard let state = try store.syncState(directory: directory.name), state.method == "syncrepl" else { throw WatchError.noPosition }
        var request = LDAPSearchRequest(base: feed.searchBase, scope: .sub, filter: feed.filter, attributes: ["entryUUID"], pageSize: nil)
        request.controls = [ContentSync.request(mode: .refreshAndPersist, cookie: state.cookie)]
        request.persistent = true
        await connected()
        for try await event in session.search(request) {
            switch event {
            case .entry(let entry):
                if let syncState = try ContentSync.state(in: entry.controls), syncState.kind != .present { await changed() }
            case .intermediate(let message):
                if case .idSet(_, true, let uuids)? = try ContentSync.info(message), !uuids.isEmpty { await changed() }
            case .reference, .done:
                break
            }
        }
        logger.info("the server ended the watch search", metadata: ["directory": "\(directory.name)"])
    }
}
