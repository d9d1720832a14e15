import Foundation
import GRDB
import SyncCore
import SyncStore
import Testing

/// A first sync of a large directory sets the secondary indexes aside and builds them after
/// the rows are in (BulkLoad). These tests use plans above its threshold (20,000 rows).
@Suite("Applying a large plan")
struct BulkApplyTests {
    /// `users` users with a mail and an alias; groups of 1,000 users; one group nested in
    /// another; one unresolved value.
    static func directory(users count: Int, prefix: String) -> Snapshot {
        let users = (0..<count).map {
            DirectoryUser(
                id: "\(prefix)-u\($0)", dn: "uid=\(prefix)\($0),ou=people,dc=x", username: "\(prefix)\($0)", mail: "\(prefix)\($0)@x",
                aliases: ["\(prefix).alias\($0)@x"], displayName: "User \($0)")
        }
        let groupCount = count / 1000
        let groups = (0..<groupCount).map { DirectoryGroup(id: "\(prefix)-g\($0)", dn: "cn=\(prefix)g\($0),ou=groups,dc=x", name: "\(prefix)g\($0)") }
        var memberships: [Membership] = []
        for index in 0..<count { memberships.append(Membership(groupID: "\(prefix)-g\(index % groupCount)", member: .user("\(prefix)-u\(index)"))) }
        memberships.append(Membership(groupID: "\(prefix)-g0", member: .group("\(prefix)-g1")))
        var snapshot = Snapshot(
            users: users, groups: groups, memberships: memberships,
            unresolved: [UnresolvedMember(groupID: "\(prefix)-g0", value: "uid=ghost,dc=x")])
        snapshot.computeDigests()
        return snapshot
    }

    /// Every index's definition, by name, straight from the file.
    static func indexes(_ store: Store) throws -> [String: String] {
        let queue = try DatabaseQueue(path: store.path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        return try queue.read { db in
            var found: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL") {
                found[row["name"]] = row["sql"]
            }
            return found
        }
    }

    @Test("a first sync of 25,000 users writes the wanted snapshot, and every index is there again, consistent with its table")
    func firstSync() throws {
        let store = try StoreTests.temporaryStore()
        let schema = try Self.indexes(store)
        #expect(schema["membership_member"] != nil && schema["user_dn_key"] != nil, "the migrations' indexes")
        let wanted = Self.directory(users: 25_000, prefix: "a")
        let plan = Planner.plan(wanted: wanted, current: try store.snapshot(directory: "corp"))
        #expect(plan.usersAdded.count == 25_000 && plan.membershipsAddedCount == 25_001)
        let run = try store.apply(plan, run: StoreTests.run(.applied))
        #expect(try store.snapshot(directory: "corp") == wanted)
        #expect(run.totals == RunRecord.Totals(users: 25_000, groups: 25, memberships: 25_001, unresolvedMembers: 1))
        #expect(try Self.indexes(store) == schema)
        #expect(try store.integrityProblems().isEmpty)
        // Lookups through the rebuilt indexes: a member's groups, nested ones included.
        #expect(try store.effectiveGroups(directory: "corp", userID: "a-u1") == ["a-g1", "a-g0"])
        #expect(try store.effectiveGroups(directory: "corp", userID: "a-u24999") == ["a-g24"])
        // Every user has a mail and an alias at x: the rebuilt domain index finds them all.
        #expect(try store.withCatalog { try $0.userRefs(withAddresses: [], domains: ["X"]) }.count == 25_000)

        // A second directory as large as what the store holds: built the same way, the first kept.
        let other = Self.directory(users: 25_000, prefix: "b")
        try store.apply(Planner.plan(wanted: other, current: Snapshot()), run: StoreTests.run(.applied, "other"))
        #expect(try store.snapshot(directory: "other") == other)
        #expect(try store.snapshot(directory: "corp") == wanted)
        #expect(try Self.indexes(store) == schema)
        #expect(try store.integrityProblems().isEmpty)
    }

    @Test("a large apply that fails halfway leaves the store as it was, indexes included")
    func failureRollsBack() throws {
        let store = try StoreTests.temporaryStore()
        let schema = try Self.indexes(store)
        let small = StoreTests.wanted
        try store.apply(Planner.plan(wanted: small, current: Snapshot()), run: StoreTests.run(.applied))
        var plan = Planner.plan(wanted: Self.directory(users: 25_000, prefix: "a"), current: Snapshot())
        // A membership naming a user the plan never adds: found after the users and most
        // memberships are written and the indexes dropped.
        plan.membershipsAdded.append(Membership(groupID: "a-g3", member: .user("nobody")))
        let error = try #require(throws: StoreError.self) { try store.apply(plan, run: StoreTests.run(.applied, "big")) }
        #expect(error.description.contains("no stored user with id nobody"))
        #expect(try store.snapshot(directory: "big").isEmpty)
        #expect(try store.snapshot(directory: "corp") == small)
        #expect(try Self.indexes(store) == schema)
        #expect(try store.integrityProblems().isEmpty)
        #expect(try store.runs().count == 1)
    }

    @Test("a large first sync in random id order stores every address: mail and aliases, an address given twice once, a shared one under each user")
    func addressesInKeyOrder() throws {
        let store = try StoreTests.temporaryStore()
        // Random ids (as Active Directory's objectGUIDs): the writer inserts users by id and
        // addresses sorted, not in the plan's order.
        var users = (0..<25_000).map {
            DirectoryUser(
                id: UUID().uuidString, dn: "uid=u\($0),ou=people,dc=x", username: "u\($0)", mail: "U\($0)@Example.com",
                aliases: ["alias\($0)@other.example", "u\($0)@example.com"])
        }
        users[7].mail = "shared@example.com"
        users[8].mail = "Shared@Example.com"
        var wanted = Snapshot(users: users, groups: [], memberships: [], unresolved: [])
        wanted.computeDigests()
        try store.apply(Planner.plan(wanted: wanted, current: Snapshot()), run: StoreTests.run(.applied))
        #expect(try store.snapshot(directory: "corp") == wanted)
        let queue = try DatabaseQueue(path: store.path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        let (rows, refsByID) = try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM user_address")!,
             Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, ref FROM \"user\"").map { ($0["id"] as String, $0["ref"] as Int64) }))
        }
        try queue.close()
        // Two addresses a user (the mail, lower-cased, is also an alias), three for the two
        // whose mail is the shared one.
        #expect(rows == 2 * 25_000 + 2)
        func refs(_ addresses: [String], domains: [String] = []) throws -> [Int64] {
            try store.withCatalog { try $0.userRefs(withAddresses: addresses, domains: domains) }.sorted()
        }
        #expect(try refs(["SHARED@example.com"]) == [refsByID[users[7].id]!, refsByID[users[8].id]!].sorted())
        #expect(try refs(["alias24999@other.example"]) == [refsByID[users[24_999].id]!])
        #expect(try refs(["u12345@example.com"]) == [refsByID[users[12_345].id]!])
        #expect(try refs([], domains: ["other.example"]).count == 25_000)
        #expect(try store.integrityProblems().isEmpty)
    }

    @Test("a store from before v7 loses the lookup indexes no query used, and its lookups by username and group name still use an index")
    func unusedIndexesDropped() throws {
        let store = try StoreTests.temporaryStore()
        try store.apply(Planner.plan(wanted: StoreTests.wanted, current: Snapshot()), run: StoreTests.run(.applied))
        // Back to the schema of v6, as a store written by the previous release.
        let queue = try DatabaseQueue(path: store.path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE INDEX user_username ON "user"(directory, username COLLATE NOCASE);
                CREATE INDEX user_mail ON "user"(directory, mail COLLATE NOCASE);
                CREATE INDEX group_name ON "group"(directory, name COLLATE NOCASE);
                DELETE FROM grdb_migrations WHERE identifier = 'v7: unused lookup indexes dropped';
                """)
        }
        try queue.close()
        let reopened = try Store(path: store.path)
        let indexes = try Self.indexes(reopened)
        for name in ["user_username", "user_mail", "group_name"] { #expect(indexes[name] == nil, "\(name) dropped") }
        #expect(try reopened.snapshot(directory: "corp") == StoreTests.wanted)
        func plan(_ sql: String, _ arguments: StatementArguments) throws -> String {
            try DatabaseQueue(path: store.path).read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        let plans = [
            try plan(#"SELECT id FROM "user" WHERE directory = ? AND username = ? COLLATE NOCASE"#, ["corp", "alice"]),
            try plan(#"SELECT ref, directory, id, dn, name, mail, group_type FROM "group" WHERE name = ? COLLATE NOCASE"#, ["finance"]),
        ]
        #expect(plans[0].contains("USING INDEX user_username_any"), "\(plans[0])")
        #expect(plans[1].contains("USING INDEX group_name_any"), "\(plans[1])")
    }

    @Test("a store from before the address domains (migration v6) gets them when opened: a domain finds the users it already held")
    func domainsOnUpgrade() throws {
        let store = try StoreTests.temporaryStore()
        let wanted = Self.directory(users: 2_000, prefix: "b")
        try store.apply(Planner.plan(wanted: wanted, current: try store.snapshot(directory: "corp")), run: StoreTests.run(.applied))
        // Back to the schema of v5, as a store written by the previous release.
        let queue = try DatabaseQueue(path: store.path)
        try queue.write { db in
            try db.execute(sql: """
                DROP INDEX user_address_domain;
                ALTER TABLE user_address DROP COLUMN domain;
                DELETE FROM grdb_migrations WHERE identifier = 'v6: address domains';
                """)
        }
        try queue.close()
        let reopened = try Store(path: store.path)
        #expect(try reopened.withCatalog { try $0.userRefs(withAddresses: [], domains: ["x"]) }.count == 2_000)
        #expect(try reopened.withCatalog { try $0.userRefs(withAddresses: [], domains: ["nowhere.example"]) }.isEmpty)
        #expect(try Self.indexes(reopened)["user_address_domain"] != nil)
    }
}
