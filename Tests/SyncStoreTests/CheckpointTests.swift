import Foundation
import GRDB
import SyncCore
import SyncStore
import Testing

/// When the store copies its write-ahead log back into the database file: not inside every
/// run's commit, but after it (the daemon calls `checkpoint()`), or once the WAL is large.
@Suite("The store's WAL checkpoints")
struct CheckpointTests {
    /// How many users the database file itself holds, the WAL ignored (`immutable=1` reads
    /// the file as it is on disk); nil while it has no user table yet.
    static func usersInFile(_ store: Store) throws -> Int? {
        var configuration = Configuration()
        configuration.readonly = true
        let file = try DatabaseQueue(path: "file:\(store.path)?immutable=1", configuration: configuration)
        return try file.read { db in
            guard try db.tableExists("user") else { return nil }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"user\"")
        }
    }

    static func users(_ count: Int) -> Snapshot {
        Snapshot(
            users: (0..<count).map { DirectoryUser(id: "u\($0)", dn: "uid=u\($0),ou=people,dc=x", username: "u\($0)", mail: "u\($0)@x.example") },
            groups: [], memberships: [])
    }

    @Test("an apply of a few thousand pages stays in the WAL (SQLite's default would copy it back at commit); checkpoint() copies it")
    func afterTheRun() throws {
        let store = try StoreTests.temporaryStore()
        let wanted = Self.users(20_000)
        let run = RunRecord(directory: "corp", trigger: .manual, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date())
        try store.apply(Planner.plan(wanted: wanted, current: try store.snapshot(directory: "corp")), run: run)
        let walPages = try FileManager.default.attributesOfItem(atPath: store.path + "-wal")[.size] as? Int ?? 0
        #expect(walPages / 4096 > 1_000, "the apply wrote more than SQLite's default checkpoint threshold: \(walPages) bytes")
        #expect(try Self.usersInFile(store) ?? 0 == 0)
        #expect(try store.snapshot(directory: "corp").users.count == 20_000, "readers see the run through the WAL")
        try store.checkpoint()
        #expect(try Self.usersInFile(store) == 20_000)
    }
}
