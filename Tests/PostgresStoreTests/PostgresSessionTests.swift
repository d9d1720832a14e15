import Foundation
import LDAPTestSupport
import PostgresNIO
import PostgresStore
import SyncConfig
import Testing

/// Connecting to a real PostgreSQL server: the errors carry the server's own diagnostic.
@Suite("PostgreSQL session")
struct PostgresSessionTests {
    @Test("connects with the password file and runs statements and transactions")
    func connects() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let version = try await blocking {
            let session = try PostgresSession.connect(settings)
            try session.query("CREATE TABLE t (n INTEGER)")
            try session.transaction { transaction in
                try transaction.query("INSERT INTO t VALUES (1)")
                try transaction.query("INSERT INTO t VALUES (2)")
            }
            // A failing transaction leaves nothing behind.
            #expect(throws: PostgresStoreError.self) {
                try session.transaction { transaction in
                    try transaction.query("INSERT INTO t VALUES (3)")
                    try transaction.query("INSERT INTO t VALUES ('not a number')")
                }
            }
            let sum = try session.query("SELECT sum(n)::bigint FROM t").first!.decode(Int64.self)
            #expect(sum == 3)
            return try session.query("SHOW server_version").first!.decode(String.self)
        }
        #expect(!version.isEmpty)
    }

    @Test("a statement on a closed session is refused at once (it used to wait forever); closing twice does nothing")
    func closed() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let error = try await blocking {
            let session = try PostgresSession.connect(settings)
            session.close()
            session.close()
            return try #require(throws: PostgresStoreError.self) { try session.query("SELECT 1") }
        }
        #expect(error.description.contains("the connection was closed"), "\(error)")
    }

    @Test("a wrong password: the server's message and SQLSTATE 28P01, never the password")
    func wrongPassword() async throws {
        let (server, settings) = try await PostgresServer.shared.freshDatabase()
        var wrongPassword = settings
        let file = server.folder.appendingPathComponent("wrong-password-\(UUID().uuidString.prefix(6))")
        try writeSecret("not-the-password\n", to: file)
        wrongPassword.passwordFile = file.path
        let wrong = wrongPassword
        let error = try await blocking { () -> PostgresStoreError? in
            do {
                _ = try PostgresSession.connect(wrong)
                return nil
            } catch {
                return error as? PostgresStoreError
            }
        }
        let failure = try #require(error as PostgresStoreError?)
        #expect(failure.sqlState == "28P01")
        #expect(failure.message.contains("password authentication failed for user \"groupsync\""))
        #expect(failure.message.contains("127.0.0.1:\(server.port)"))
        #expect(!failure.message.contains("not-the-password"))
    }

    @Test("no password file for a server that asks for one")
    func missingPassword() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        var withoutPassword = settings
        withoutPassword.passwordFile = nil
        let bare = withoutPassword
        let error = try await blocking { () -> String? in
            do { _ = try PostgresSession.connect(bare); return nil } catch { return "\(error)" }
        }
        #expect(error?.contains("password_file") == true)
    }

    @Test("an unknown database: the server's message and SQLSTATE 3D000")
    func unknownDatabase() async throws {
        let (server, settings) = try await PostgresServer.shared.freshDatabase()
        let other = try PostgresSettings(url: server.url(database: "nosuchdb"), passwordFile: settings.passwordFile, tls: settings.tls)
        let error = try await blocking { () -> PostgresStoreError? in
            do { _ = try PostgresSession.connect(other); return nil } catch { return error as? PostgresStoreError }
        }
        #expect(error?.sqlState == "3D000")
        #expect(error?.message.contains("\"nosuchdb\" does not exist") == true)
    }

    @Test("nothing listening: cannot connect, naming the address")
    func nothingListening() async throws {
        let port = try freeLoopbackPort()
        let settings = try PostgresSettings(url: "postgres://groupsync@127.0.0.1:\(port)/groupsync", tls: .init(mode: .disable))
        let error = try await blocking { () -> String? in
            do { _ = try PostgresSession.connect(settings, connectTimeout: .seconds(3)); return nil } catch { return "\(error)" }
        }
        #expect(error?.contains("cannot connect to PostgreSQL at 127.0.0.1:\(port)") == true)
    }

    @Test("TLS required by the settings, not offered by the server: refused, saying so")
    func tlsNotOffered() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        var requiring = settings
        requiring.tls = .init(mode: .require)
        let tls = requiring
        let error = try await blocking { () -> String? in
            do { _ = try PostgresSession.connect(tls); return nil } catch { return "\(error)" }
        }
        #expect(error?.contains("does not offer TLS") == true)
    }

    @Test("a SQL error carries the server's message and SQLSTATE")
    func sqlError() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let error = try await blocking { () -> PostgresStoreError? in
            let session = try PostgresSession.connect(settings)
            do { try session.query("SELECT * FROM no_such_table"); return nil } catch { return error as? PostgresStoreError }
        }
        #expect(error?.sqlState == "42P01")
        #expect(error?.message.contains("relation \"no_such_table\" does not exist") == true)
    }
}
