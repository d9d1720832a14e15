import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import Testing

/// `store: {postgres: …}` in the configuration: what parses, and mistakes named by line and key.
@Suite("Configuration: the PostgreSQL store")
struct PostgresConfigTests {
    static let store = """
        store:
          postgres:
            url: postgres://groupsync@db.example.com:6432/groupsync
            password_file: password
            tls:
              mode: verify-full
              ca_file: password
        """

    static func config(_ store: String) -> String {
        ConfigLoaderTests.valid.replacingOccurrences(of: "store:\n  path: var/groupsync.sqlite", with: store)
    }

    @Test("url, password_file and tls parse; the control socket defaults beside the configuration file")
    func parses() throws {
        _ = ConfigLoaderTests.folder
        let config = try ConfigLoader.parse(Self.config(Self.store), file: ConfigLoaderTests.file)
        let postgres = try #require(config.store.postgres)
        #expect(postgres.host == "db.example.com" && postgres.port == 6432 && postgres.user == "groupsync" && postgres.database == "groupsync")
        #expect(postgres.passwordFile == ConfigLoaderTests.folder.appendingPathComponent("password").path)
        #expect(postgres.tls.mode == .verifyFull)
        #expect(postgres.tls.caFile == ConfigLoaderTests.folder.appendingPathComponent("password").path)
        #expect(config.store.location == "postgres://groupsync@db.example.com:6432/groupsync")
        #expect(config.controlSocket == ConfigLoaderTests.folder.appendingPathComponent("groupsync.sock").path)
        let minimal = try ConfigLoader.parse(
            Self.config("store:\n  postgres:\n    url: postgresql://svc@db/gs"), file: ConfigLoaderTests.file)
        #expect(minimal.store.postgres?.tls.mode == .verifyFull, "verify-full unless said otherwise")
        #expect(minimal.store.postgres?.passwordFile == nil)
    }

    @Test("mistakes name the line and key path", arguments: [
        ("url: postgres://groupsync@db.example.com:6432/groupsync", "url: postgres://groupsync:hunter2@db.example.com/groupsync", 3,
         "store.postgres.url", "holds a password"),
        ("url: postgres://groupsync@db.example.com:6432/groupsync", "url: mysql://groupsync@db/groupsync", 3, "store.postgres.url", "scheme"),
        ("url: postgres://groupsync@db.example.com:6432/groupsync", "url: postgres://db.example.com/groupsync", 3, "store.postgres.url", "no user"),
        ("mode: verify-full", "mode: prefer", 6, "store.postgres.tls.mode", "expected disable, require, verify-full"),
        ("mode: verify-full", "mode: require", 7, "store.postgres.tls.ca_file", "ca_file is for mode verify-full"),
        ("password_file: password", "password_file: missing-file", 4, "store.postgres.password_file", "cannot read"),
        ("    password_file: password", "    password: hunter2", 4, "store.postgres.password", "unknown key \"password\""),
        ("  postgres:", "  path: x.sqlite\n  postgres:", 2, "store", "either path (SQLite) or postgres"),
    ])
    func mistakes(original: String, replacement: String, line: Int, keyPath: String, message: String) throws {
        _ = ConfigLoaderTests.folder
        let text = Self.config(Self.store.replacingOccurrences(of: original, with: replacement))
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(text, file: ConfigLoaderTests.file) }
        #expect(error.keyPath == keyPath, "\(error)")
        #expect(error.line == line, "\(error)")
        #expect(error.message.contains(message), "\(error)")
        #expect(!error.description.contains("hunter2"))
    }

    @Test("a store with neither path nor postgres")
    func neither() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse(ConfigLoaderTests.valid.replacingOccurrences(of: "store:\n  path: var/groupsync.sqlite", with: "store: {}"), file: ConfigLoaderTests.file)
        }
        #expect(error.message.contains("path (an SQLite file) or postgres"))
    }
}
