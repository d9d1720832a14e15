import PostgresStore
import SyncConfig
import SyncStore

extension StoreConfig {
    /// Opens (and migrates) the store the configuration names.
    public func open() throws(StoreError) -> any SnapshotStore {
        if let postgres { return try PostgresStore(settings: postgres) }
        return try Store(path: path)
    }
}
