import Foundation
import LDAPTestSupport
import PostgresStore

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
