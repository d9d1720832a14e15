import Foundation
import GRDB
import LDAPTestSupport
import PostgresNIO
import PostgresStore
import StoreCopy
import SyncCore
import SyncStore
import Testing
import Verification

/// `groupsync migrate-store`: SQLite → PostgreSQL → SQLite gives the same store, row for row.
@Suite("Copying a store between SQLite and PostgreSQL")
struct StoreCopyTests {
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-copy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A store with everything a real one holds: two directories, users with NULL and
    /// non-ASCII fields, a disabled user, nested groups, an unresolved value, runs with
    /// changes, a configuration version, landing results (landed and not) and sync state.
    static func filledStore(at path: String) throws -> Store {
        let store = try Store(path: path)
        for directory in ["corp", "lab"] {
            var users = (0..<300).map {
                DirectoryUser(
                    id: "\(directory)-u\($0)", dn: "uid=u\($0),ou=people,dc=\(directory)", username: "u\($0)",
                    mail: $0 % 7 == 0 ? nil : "u\($0)@\(directory).example", aliases: $0 % 5 == 0 ? ["alias\($0)@\(directory).example"] : [],
                    displayName: $0 % 3 == 0 ? nil : "Zoë Ünicode \($0)", disabled: $0 % 11 == 0, primaryGroup: $0 == 1 ? "S-1-5-21-1-513" : nil)
            }
            users.append(DirectoryUser(id: "\(directory)-quote", dn: "uid=o\\'brien,dc=\(directory)", username: "o'brien \"q\""))
            let groups = (0..<12).map {
                DirectoryGroup(id: "\(directory)-g\($0)", dn: "cn=g\($0),ou=groups,dc=\(directory)", name: "g\($0)", mail: $0 == 0 ? "g0@x" : nil,
                               type: $0 == 1 ? "security" : nil, sid: $0 == 2 ? "S-1-5-21-1-1102" : nil)
            }
            var memberships = (0..<300).map { Membership(groupID: "\(directory)-g\($0 % 12)", member: .user("\(directory)-u\($0)")) }
            memberships.append(Membership(groupID: "\(directory)-g0", member: .group("\(directory)-g1")))
            memberships.append(Membership(groupID: "\(directory)-g1", member: .group("\(directory)-g0")))
            var wanted = Snapshot(
                users: users, groups: groups, memberships: memberships,
                unresolved: [UnresolvedMember(groupID: "\(directory)-g3", value: "uid=ghost,dc=\(directory)")])
            wanted.computeDigests()
            let started = Date(timeIntervalSince1970: 1_790_000_000.123)
            for outcome in [RunRecord.Outcome.applied, .noChanges] {
                let plan = Planner.plan(wanted: wanted, current: try store.snapshot(directory: directory))
                let run = RunRecord(directory: directory, trigger: .manual, mode: .full, outcome: outcome, startedAt: started, finishedAt: started + 2.5)
                let recorded = try store.apply(plan, run: run, syncState: SyncState(
                    method: "syncrepl", server: nil, cookie: [0, 1, 2, 255], containers: ["b", "a"], fullRunAt: started, updatedAt: started + 1))
                try store.saveLandings([
                    PolicyAudit.Landing(intent: "onboarding", userKey: "\(directory)/\(directory)-u1", userLabel: "u1", target: .group("g1"), landed: true),
                    PolicyAudit.Landing(intent: "onboarding", userKey: "?nobody", userLabel: "nobody", target: .policy("Blocked Senders"), landed: false,
                                        reason: Reason(.userUnknown, "no user named nobody")),
                ], runID: recorded.id!)
            }
        }
        _ = try store.saveConfig(file: "/etc/groupsync/groupsync.yaml", text: "store:\n  path: x\n# ünïcode\n")
        return store
    }

    /// Every row of every table, in key order, as SQLite holds it.
    static func dump(_ store: Store) throws -> [String: [[StoreValue]]] {
        let tables: [(String, [String])] = [
            ("user", ["ref"]), ("group", ["ref"]), ("membership", ["group_ref", "member_kind", "member_ref"]),
            ("unresolved_member", ["group_ref", "value"]), ("user_address", ["address", "user_ref"]), ("config_version", ["digest"]),
            ("run", ["id"]), ("run_change", ["run_id", "seq"]), ("landing", ["run_id", "intent", "user_key", "target_kind", "target_name"]),
            ("sync_state", ["directory"]),
        ]
        let columns = try DatabaseQueue(path: store.path).read { db in
            try Dictionary(uniqueKeysWithValues: tables.map { table, _ in
                (table, try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('\(table)')"))
            })
        }
        return try store.readTables { reader in
            var all: [String: [[StoreValue]]] = [:]
            for (table, key) in tables {
                let columns = columns[table]!
                var rows: [[StoreValue]] = []
                try reader.rows(table, columns: columns, orderBy: key) { rows += $0 }
                all[table] = rows
            }
            return all
        }
    }

    @Test("SQLite → PostgreSQL → SQLite: every table identical; counts reported; identities continue")
    func roundTrip() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sourcePath = folder.appendingPathComponent("source.sqlite").path
        let backPath = folder.appendingPathComponent("back.sqlite").path
        let original = try Self.dump(try Self.filledStore(at: sourcePath))
        #expect(original["user"]?.count == 602)
        #expect(original["landing"]?.count == 8)
        #expect(original["sync_state"]?.count == 2)

        let there = try await blocking { try StoreCopier.copy(from: .sqlite(path: sourcePath), to: .postgres(settings)) }
        #expect(Dictionary(uniqueKeysWithValues: there.tables.map { ($0.name, $0.rows) }) == original.mapValues(\.count))
        let back = try await blocking { try StoreCopier.copy(from: .postgres(settings), to: .sqlite(path: backPath)) }
        #expect(back.tables.map(\.rows) == there.tables.map(\.rows))
        let copied = try Self.dump(try Store(path: backPath))
        for (table, rows) in original {
            #expect(copied[table] == rows, "table \(table) differs after the round trip")
        }

        // In PostgreSQL the copied values are typed (booleans, times, bytes) and new rows get
        // refs after the copied ones.
        try await blocking {
            let session = try PostgresSession.connect(settings)
            let disabled = try session.query(#"SELECT count(*) FROM "user" WHERE disabled"#).first!.decode(Int64.self)
            #expect(disabled == 2 * 28)
            let started = try session.query("SELECT started_at FROM run ORDER BY id LIMIT 1").first!.decode(Date.self)
            #expect(abs(started.timeIntervalSince1970 - 1_790_000_000.123) < 0.001)
            let cookie = try session.query("SELECT cookie FROM sync_state WHERE directory = 'corp'").first!.decode(ByteBuffer.self)
            #expect(Array(cookie.readableBytesView) == [0, 1, 2, 255])
            let maxRef = try session.query(#"SELECT max(ref) FROM "user""#).first!.decode(Int64.self)
            let newRef = try session.query(#"INSERT INTO "user" (directory, id, dn) VALUES ('corp', 'new', 'uid=new') RETURNING ref"#).first!.decode(Int64.self)
            #expect(newRef == maxRef + 1)
        }
    }

    @Test("a target that holds a store is refused unless replace; replacing leaves exactly the source's rows")
    func refusesNonEmptyTarget() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("source.sqlite").path
        let original = try Self.dump(try Self.filledStore(at: path))
        try await blocking { _ = try StoreCopier.copy(from: .sqlite(path: path), to: .postgres(settings)) }
        let refusal = try await blocking { () -> String? in
            do { _ = try StoreCopier.copy(from: .sqlite(path: path), to: .postgres(settings)); return nil } catch { return "\(error)" }
        }
        #expect(refusal?.contains("is not empty (user: 602, group: 24") == true)
        #expect(refusal?.contains("--replace") == true)
        let replaced = try await blocking { try StoreCopier.copy(from: .sqlite(path: path), to: .postgres(settings), replace: true) }
        #expect(replaced.tables.first { $0.name == "membership" }?.rows == original["membership"]?.count)
    }

    @Test("a copy that fails halfway leaves the target as it was, and names the bad value")
    func failedCopyWritesNothing() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.sqlite").path
        let bad = folder.appendingPathComponent("bad.sqlite").path
        _ = try Self.filledStore(at: good)
        _ = try Self.filledStore(at: bad)
        try await blocking { _ = try StoreCopier.copy(from: .sqlite(path: good), to: .postgres(settings)) }
        // A run's time that is not a time: the run table comes after the snapshot tables.
        try await DatabaseQueue(path: bad).write { try $0.execute(sql: "UPDATE run SET started_at = 'yesterday' WHERE id = 2") }
        let failure = try await blocking { () -> String? in
            do { _ = try StoreCopier.copy(from: .sqlite(path: bad), to: .postgres(settings), replace: true); return nil } catch { return "\(error)" }
        }
        #expect(failure?.contains("nothing was written") == true)
        #expect(failure?.contains("run.started_at holds \"yesterday\"") == true)
        let runs = try await blocking {
            try PostgresSession.connect(settings).query("SELECT count(*) FROM run").first!.decode(Int64.self)
        }
        #expect(runs == 4)
    }

    @Test("refused ends: a missing source, the same store twice, two SQLite files, a database without a store")
    func refusedEnds() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.sqlite").path
        let errors = try await blocking { () -> [String] in
            var errors: [String] = []
            for (from, to) in [
                (StoreLocation.sqlite(path: missing), StoreLocation.postgres(settings)),
                (.postgres(settings), .postgres(settings)),
                (.sqlite(path: missing), .sqlite(path: folder.appendingPathComponent("other.sqlite").path)),
                (.postgres(settings), .sqlite(path: folder.appendingPathComponent("new.sqlite").path)),
            ] {
                do { _ = try StoreCopier.copy(from: from, to: to); errors.append("no error") } catch { errors.append("\(error)") }
            }
            return errors
        }
        #expect(errors[0].contains("\(missing) does not exist"))
        #expect(errors[1].contains("the same store"))
        #expect(errors[2].contains("one end must be PostgreSQL"))
        #expect(errors[3].contains("holds no groupsync store"))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
