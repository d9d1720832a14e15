import Foundation
import PostgresStore
import SyncCore
import SyncStore
import Testing
import Verification

/// Verification's questions (the Catalog) answer on PostgreSQL as they do on SQLite.
@Suite("PostgreSQL store: the catalog verification asks")
struct PostgresCatalogTests {
    /// Users compared by key and content (refs are each store's own numbers).
    static func keyed(_ users: [UserInfo]) -> [UserKey: DirectoryUser] {
        Dictionary(users.map { ($0.key, $0.user) }, uniquingKeysWith: { first, _ in first })
    }

    @Test("users and groups by name, address and DN; nesting; effective members; graphs; close matches: the same answers")
    func sameAnswers() async throws {
        let pair = try await StorePair.make()
        let (sqlite, postgres) = (pair.sqlite, pair.postgres)
        var corp = PostgresSnapshotTests.changed(PostgresSnapshotTests.directory(users: 150, groups: 10))
        corp.users["u3"]?.username = "MiXeD"
        corp.groups["g5"]?.name = "Sales Team"
        var lab = PostgresSnapshotTests.directory(users: 20, groups: 4, tag: " lab")
        lab.users["u1"]?.mail = "shared@x.example"
        corp.users["u1"]?.mail = "shared@x.example"
        // A domain is what follows an address's last @, whatever its case; not a subdomain.
        lab.users["u2"]?.mail = "Odd@Quoted@X.Example"
        lab.users["u3"]?.mail = "u3@sub.x.example"
        lab.users["u4"]?.mail = "x.example"
        for id in ["u2", "u3", "u4"] { lab.users[id]?.aliases = [] }
        for (directory, wanted) in [("corp", corp), ("lab", lab)] {
            let run = RunRecord(directory: directory, trigger: .manual, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date())
            try sqlite.apply(Planner.plan(wanted: wanted, current: try sqlite.snapshot(directory: directory)), run: run)
            try postgres.apply(Planner.plan(wanted: wanted, current: try postgres.snapshot(directory: directory)), run: run)
        }
        try Self.compare(SQLiteSource(store: sqlite), PostgresSource(store: postgres))
        // The daemon's in-memory index, loaded from each store, answers alike too.
        let sqliteIndex = try SnapshotIndex.load(from: sqlite)
        let postgresIndex = try postgres.loadIndex()
        #expect(postgresIndex.userCount == sqliteIndex.userCount)
        try Self.compare(IndexSource(index: sqliteIndex), IndexSource(index: postgresIndex))
    }

    static func compare(_ sqlite: some CatalogSource, _ postgres: some CatalogSource) throws {
        func both<T>(_ question: (any Catalog) throws -> T) throws -> (T, T) {
            (try sqlite.ask(question), try postgres.ask(question))
        }

        for name in ["u2", "U2", "mixed", "MIXED", "shared@x.example", "SHARED@X.EXAMPLE", "alias8@x.example", "uid=U2, ou=people, dc=x",
                     "nobody", "", "  u4  "] {
            let (a, b) = try both { try $0.users(matching: name) }
            #expect(Self.keyed(a) == Self.keyed(b), "users(matching: \(name))")
            #expect(a.count == b.count)
        }
        #expect(try both { try $0.users(matching: "shared@x.example") }.1.count == 2)
        let keys = [UserKey(directory: "corp", id: "u1"), UserKey(directory: "lab", id: "u1"), UserKey(directory: "corp", id: "gone")]
        let (usersA, usersB) = try both { try $0.users(keys: keys) }
        #expect(Self.keyed(usersA) == Self.keyed(usersB))
        for name in ["g1", "G1", "sales team", "cn=g2,ou=groups,dc=x", "CN=G2, OU=Groups, DC=x", "nothing"] {
            let (a, b) = try both { try $0.groups(matching: name) }
            #expect(Set(a) == Set(b), "groups(matching: \(name))")
        }
        let groupKeys = [GroupKey(directory: "corp", id: "g0"), GroupKey(directory: "corp", id: "gnew"), GroupKey(directory: "lab", id: "g1")]
        for subset in [Array(groupKeys.prefix(1)), groupKeys, [GroupKey(directory: "corp", id: "none")]] {
            let (nestedA, nestedB) = try both { try $0.nestedGroups(of: subset) }
            #expect(nestedA == nestedB)
            let (hasA, hasB) = try both { try $0.hasUserMembers(subset) }
            #expect(hasA == hasB)
            let (effA, effB) = try both { try $0.effectiveUsers(of: subset) }
            #expect(Self.keyed(effA) == Self.keyed(effB))
            let (refsA, refsB) = try both { catalog in try catalog.users(refs: try catalog.effectiveUserRefs(of: subset).sorted()) }
            #expect(Self.keyed(refsA) == Self.keyed(refsB))
            #expect(Self.keyed(refsA) == Self.keyed(effA))
        }
        let (byAddressA, byAddressB) = try both { catalog in
            try catalog.users(refs: try catalog.userRefs(withAddresses: ["U10@X.example", "shared@x.example"], domains: ["x.example", "nope.example"]))
        }
        #expect(Self.keyed(byAddressA) == Self.keyed(byAddressB))
        #expect(!byAddressA.isEmpty)
        let (byDomainA, byDomainB) = try both { catalog in try catalog.users(refs: try catalog.userRefs(withAddresses: [], domains: ["X.Example"])) }
        #expect(Self.keyed(byDomainA) == Self.keyed(byDomainB))
        let labMatches = Set(byDomainA.filter { $0.key.directory == "lab" }.map(\.key.id))
        #expect(labMatches.contains("u2") && !labMatches.contains("u3") && !labMatches.contains("u4"), "\(labMatches)")
        for key in [UserKey(directory: "corp", id: "u2"), UserKey(directory: "corp", id: "new1"), UserKey(directory: "lab", id: "u3")] {
            let (graphA, graphB) = try both { catalog -> UserGraph in
                try catalog.graph(of: try catalog.users(keys: [key]).first!)
            }
            #expect(graphA.groups == graphB.groups, "graph of \(key)")
            #expect(graphA.direct.sorted() == graphB.direct.sorted())
            #expect(graphA.parents.mapValues { $0.sorted() } == graphB.parents.mapValues { $0.sorted() })
        }
        for name in ["u2x", "shard@x.example", "mixd", "zzzzzz"] {
            let (a, b) = try both { try $0.closeMatches(to: name, limit: 5) }
            #expect(a == b, "closeMatches(\(name))")
        }
    }
}

/// Where a comparison's answers come from: a store's catalog transaction or an index.
protocol CatalogSource {
    func ask<T>(_ question: (any Catalog) throws -> T) throws -> T
}

struct SQLiteSource: CatalogSource {
    let store: Store
    func ask<T>(_ question: (any Catalog) throws -> T) throws -> T { try store.withCatalog { try question($0) } }
}

struct PostgresSource: CatalogSource {
    let store: PostgresStore
    func ask<T>(_ question: (any Catalog) throws -> T) throws -> T { try store.withCatalog { try question($0) } }
}

struct IndexSource: CatalogSource {
    let index: SnapshotIndex
    func ask<T>(_ question: (any Catalog) throws -> T) throws -> T { try question(index) }
}
