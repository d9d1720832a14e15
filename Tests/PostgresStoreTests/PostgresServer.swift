import Foundation
import LDAPTestSupport
import PostgresStore

/// One throwaway PostgreSQL server for the whole test process (initdb takes a few seconds);
/// each test gets a database of its own on it.
actor PostgresServer {
    static let shared = PostgresServer()
    private var server: Task<TestPostgres, any Error>?
    private var databases = 0

    /// The server, started by the first caller; callers arriving meanwhile wait for it.
    func start() async throws -> TestPostgres {
        if let server { return try await server.value }
        let starting = Task { try await TestPostgres.start() }
        server = starting
        return try await starting.value
    }

    /// A new, empty database and the settings (with a password file) to reach it over TCP.
    func freshDatabase() async throws -> (server: TestPostgres, settings: PostgresSettings) {
        let server = try await start()
        databases += 1
        let name = "test_\(databases)"
        try await server.createDatabase(name)
        let passwordFile = server.folder.appendingPathComponent("client-password-\(name)")
        try writeSecret(server.password + "\n", to: passwordFile)
        let settings = try PostgresSettings(
            url: server.url(database: name), passwordFile: passwordFile.path, tls: .init(mode: .disable))
        return (server, settings)
    }
}

/// Runs blocking store calls (they wait on the network) off Swift's cooperative pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await offThePool(body)
}
