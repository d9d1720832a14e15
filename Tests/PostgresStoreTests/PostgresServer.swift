import Foundation
import LDAPTestSupport
import PostgresStore
import SyncConfig
import SyncStore

/// The test process's PostgreSQL server (``SharedTestPostgres``), with settings for a fresh
/// database on it.
enum PostgresServer {
    static let shared = Shared()

    struct Shared {
        func freshDatabase() async throws -> (server: TestPostgres, settings: PostgresSettings) {
            let (server, url, passwordFile) = try await SharedTestPostgres.shared.freshDatabase()
            return (server, try PostgresSettings(url: url, passwordFile: passwordFile, tls: .init(mode: .disable)))
        }
    }
}

/// Runs blocking store calls (they wait on the network) off Swift's cooperative pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await offThePool(body)
}

/// An SQLite store in a temporary folder and a PostgreSQL store on a fresh database, for
/// making the same calls on both and comparing the answers. The folder goes with it.
final class StorePair: Sendable {
    let sqlite: Store
    let postgres: PostgresStore
    let folder: URL

    private init(sqlite: Store, postgres: PostgresStore, folder: URL) {
        self.sqlite = sqlite
        self.postgres = postgres
        self.folder = folder
    }

    static func make() async throws -> StorePair {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let folder = try StoreCopyTests.folder()
        let sqlite = try Store(path: folder.appendingPathComponent("store.sqlite").path)
        let postgres = try await blocking { try PostgresStore(settings: settings) }
        return StorePair(sqlite: sqlite, postgres: postgres, folder: folder)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
}
