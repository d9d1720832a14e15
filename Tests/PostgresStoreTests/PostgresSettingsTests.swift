import Foundation
import PostgresStore
import SyncConfig
import Testing

/// `store.postgres.url` and the password file, without a server.
@Suite("PostgreSQL settings")
struct PostgresSettingsTests {
    @Test("a URL gives host, port, user and database; postgresql:// and IPv6 hosts too")
    func parsesURL() throws {
        let settings = try PostgresSettings(url: "postgres://groupsync@db.example.com:6432/directory")
        #expect(settings.host == "db.example.com")
        #expect(settings.port == 6432)
        #expect(settings.user == "groupsync")
        #expect(settings.database == "directory")
        #expect(settings.tls.mode == .verifyFull)
        #expect(settings.label == "groupsync@db.example.com:6432/directory")
        let defaults = try PostgresSettings(url: "postgresql://svc%2Dsync@[::1]/groupsync")
        #expect(defaults.host == "::1")
        #expect(defaults.port == 5432)
        #expect(defaults.user == "svc-sync")
    }

    @Test("refused URLs name what is wrong", arguments: [
        ("mysql://u@h/db", "scheme"),
        ("postgres://u:secret@h/db", "password"),
        ("postgres://h/db", "no user"),
        ("postgres://u@h", "no database"),
        ("postgres://u@h/db/extra", "no database"),
        ("postgres://u@h/db?sslmode=disable", "query parameters"),
        ("postgres://u@h:70000/db", "port"),
        ("not a url", "expected postgres://"),
    ])
    func refusesURL(url: String, named: String) {
        #expect {
            try PostgresSettings(url: url)
        } throws: { error in
            "\(error)".contains(named) && !"\(error)".contains("secret")
        }
    }

    @Test("the password file: its first line; refused when others may read it, empty or missing")
    func passwordFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-pgpw-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("pw").path
        func settings() throws -> PostgresSettings { try PostgresSettings(url: "postgres://u@h/db", passwordFile: file) }

        _ = FileManager.default.createFile(atPath: file, contents: Data("s3cret\r\nsecond line\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(try settings().readPassword() == "s3cret")
        chmod(file, 0o644)
        #expect { try settings().readPassword() } throws: { "\($0)".contains("can be read by others") && "\($0)".contains("chmod o-rwx") }
        chmod(file, 0o600)
        _ = FileManager.default.createFile(atPath: file, contents: Data("\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect { try settings().readPassword() } throws: { "\($0)".contains("is empty") }
        try FileManager.default.removeItem(atPath: file)
        #expect { try settings().readPassword() } throws: { "\($0)".contains("cannot read") && "\($0)".contains(file) }
        #expect(try PostgresSettings(url: "postgres://u@h/db").readPassword() == nil)
    }
}
