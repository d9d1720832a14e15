import Foundation
import PostgresNIO
import PostgresStore
import Testing

@Suite("PostgreSQL schema")
struct PostgresSchemaTests {
    @Test("migrate creates every table once; a second migrate applies nothing")
    func migrates() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        try await blocking {
            let session = try PostgresSession.connect(settings)
            #expect(try PostgresSchema.appliedMigrations(session).isEmpty)
            #expect(try PostgresSchema.migrate(session) == PostgresSchema.ids)
            #expect(try PostgresSchema.migrate(session).isEmpty)
            #expect(try PostgresSchema.appliedMigrations(session) == Set(PostgresSchema.ids))
            let tables = Set(try session.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").map { try $0.decode(String.self) })
            #expect(tables == [
                "user", "group", "membership", "unresolved_member", "user_address", "config_version", "run", "run_change",
                "landing", "sync_state", "directory_lease", "sync_request", "schema_migration",
            ])
        }
    }

    @Test("a domain's users are found through the address domain index, as the catalog asks")
    func domainIndex() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        try await blocking {
            let session = try PostgresSession.connect(settings)
            try PostgresSchema.migrate(session)
            try session.query("""
                INSERT INTO user_address (address, user_ref)
                SELECT 'u' || n || '@d' || (n % 50) || '.example', n FROM generate_series(1, 20000) AS n
                """)
            try session.query("ANALYZE user_address")
            let plan = try session.query("""
                EXPLAIN SELECT DISTINCT user_ref FROM user_address WHERE \(unescaped: PostgresCatalog.addressDomain) = 'd7.example'
                """).map { try $0.decode(String.self) }.joined(separator: "\n")
            #expect(plan.contains("user_address_domain"), "\(plan)")
            #expect(!plan.contains("Seq Scan"), "\(plan)")
        }
    }

    @Test("daemons starting together: each migration applied exactly once")
    func concurrentMigrations() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<6 {
                group.addTask { try await blocking { try PostgresSchema.migrate(try PostgresSession.connect(settings)) } }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(applied.sorted() == PostgresSchema.ids.sorted())
        try await blocking {
            let session = try PostgresSession.connect(settings)
            #expect(try session.query("SELECT count(*) FROM schema_migration").first!.decode(Int64.self) == Int64(PostgresSchema.ids.count))
        }
    }
}
