import Foundation
import PostgresStore
import SyncCore
import SyncStore
import Testing

/// Applying plans to the snapshot on PostgreSQL gives the snapshot SQLite gives, step by step.
@Suite("PostgreSQL store: applying plans to the snapshot")
struct PostgresSnapshotTests {
    static func directory(users: Int, groups: Int, tag: String = "") -> Snapshot {
        var snapshot = Snapshot(
            users: (0..<users).map {
                DirectoryUser(
                    id: "u\($0)", dn: "uid=u\($0),ou=people,dc=x", username: "u\($0)", mail: $0 % 9 == 0 ? nil : "U\($0)@X.example",
                    aliases: $0 % 4 == 0 ? ["alias\($0)@x.example", "Alias\($0)@X.example"] : [], displayName: "User \($0)\(tag)",
                    disabled: $0 % 13 == 0)
            },
            groups: (0..<groups).map { DirectoryGroup(id: "g\($0)", dn: "cn=g\($0),ou=groups,dc=x", name: "g\($0)", mail: $0 == 0 ? "g0@x" : nil) },
            memberships: (0..<users).map { Membership(groupID: "g\($0 % groups)", member: .user("u\($0)")) }
                + [Membership(groupID: "g0", member: .group("g1")), Membership(groupID: "g1", member: .group("g2"))],
            unresolved: [UnresolvedMember(groupID: "g3", value: "uid=ghost,dc=x")])
        for index in 0..<groups { snapshot.groupMarkers["g\(index)"] = "csn-\(index)" }
        snapshot.computeDigests()
        return snapshot
    }

    /// The next directory: users removed, moved, renamed, disabled; groups removed, added,
    /// renamed; members added and removed; a new nesting; the unresolved value resolved and
    /// another one added; markers moved.
    static func changed(_ previous: Snapshot) -> Snapshot {
        var next = previous
        for index in [5, 6, 7] { next.users["u\(index)"] = nil }
        next.users["u8"]?.dn = "uid=u8,ou=moved,dc=x"
        next.users["u10"]?.mail = "renamed10@x.example"
        next.users["u10"]?.aliases = ["other@x.example"]
        next.users["u11"]?.disabled = true
        next.users["new1"] = DirectoryUser(id: "new1", dn: "uid=new1,dc=x", username: "new1", mail: "new1@x.example")
        next.groups["g4"] = nil
        next.members["g4"] = nil
        next.groups["g2"]?.name = "g2-renamed"
        next.groups["gnew"] = DirectoryGroup(id: "gnew", dn: "cn=gnew,dc=x", name: "gnew", type: "security", sid: "S-1-5-21-9")
        next.members["gnew"] = [.user("new1"), .user("u1"), .group("g0")]
        for (group, members) in next.members {
            next.members[group] = Set(members.filter { $0.kind == .group || next.users[$0.id] != nil })
        }
        next.members["g1", default: []].insert(.user("u2"))
        next.members["g0", default: []].remove(.user("u0"))
        next.unresolved = ["g5": ["uid=another,dc=x"]]
        next.groupMarkers["g1"] = "csn-moved"
        next.groupMarkers["gnew"] = "csn-new"
        next.memberDigests = [:]
        next.computeDigests()
        return next
    }

    @Test("a first sync and a sync of changes: the same snapshot, totals and digests as SQLite")
    func sameSnapshots() async throws {
        let pair = try await StorePair.make()
        let (sqlite, postgres) = (pair.sqlite, pair.postgres)
        let first = Self.directory(users: 400, groups: 20)
        let second = Self.changed(first)
        var wantedUsers = 0
        for wanted in [first, second, second] {
            let run = RunRecord(directory: "corp", trigger: .manual, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date())
            let sqlitePlan = Planner.plan(wanted: wanted, current: try sqlite.snapshot(directory: "corp"))
            let postgresPlan = Planner.plan(wanted: wanted, current: try postgres.snapshot(directory: "corp"))
            #expect(sqlitePlan.counts == postgresPlan.counts)
            #expect(sqlitePlan.changes == postgresPlan.changes)
            let sqliteRun = try sqlite.apply(sqlitePlan, run: run)
            let postgresRun = try postgres.apply(postgresPlan, run: run)
            #expect(sqliteRun.totals == postgresRun.totals)
            #expect(sqliteRun.id == postgresRun.id)
            let stored = try postgres.snapshot(directory: "corp")
            #expect(stored == wanted)
            #expect(stored == (try sqlite.snapshot(directory: "corp")))
            let header = try sqlite.header(directory: "corp")
            #expect(stored.memberDigests == header.memberDigests)
            #expect(stored.groupMarkers == header.groupMarkers)
            #expect(try postgres.changes(runID: postgresRun.id!) == sqlite.changes(runID: sqliteRun.id!))
            wantedUsers = wanted.users.count
        }
        // A run that changes nothing but moves change markers records them, as SQLite does.
        let markers = ["g1": "csn-2026-11-29", "g2": "csn-o'quote"]
        let quiet = RunRecord(directory: "corp", trigger: .manual, mode: .full, outcome: .noChanges, startedAt: Date(), finishedAt: Date())
        try sqlite.record(quiet, changes: [], markers: markers)
        try postgres.record(quiet, changes: [], markers: markers)
        #expect(try postgres.header(directory: "corp").groupMarkers == sqlite.header(directory: "corp").groupMarkers)
        #expect(try postgres.header(directory: "corp").groupMarkers["g2"] == "csn-o'quote")
        #expect(try postgres.totals(directory: "corp").users == wantedUsers)
        #expect(try postgres.totals(directory: "other") == RunRecord.Totals())
        #expect(try Planner.plan(wanted: second, current: postgres.snapshot(directory: "corp")).isEmpty)
        // Another directory in the same store stays apart.
        let lab = Self.directory(users: 30, groups: 5, tag: " (lab)")
        try postgres.apply(Planner.plan(wanted: lab, current: try postgres.snapshot(directory: "lab")),
                           run: RunRecord(directory: "lab", trigger: .manual, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date()))
        #expect(try postgres.snapshot(directory: "lab") == lab)
        #expect(try postgres.snapshot(directory: "corp") == second)
    }

    @Test("a plan naming more stored objects than are looked up by id (a large first sync) reads every ref: the same snapshot as SQLite")
    func manyNamedObjects() async throws {
        let pair = try await StorePair.make()
        let (sqlite, postgres) = (pair.sqlite, pair.postgres)
        // Every user is in a group: the first sync's members name all 21,000 of them.
        let first = Self.directory(users: 21_000, groups: 30)
        for wanted in [first, Self.changed(first)] {
            let run = RunRecord(directory: "corp", trigger: .manual, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date())
            try sqlite.apply(Planner.plan(wanted: wanted, current: try sqlite.snapshot(directory: "corp")), run: run)
            try postgres.apply(Planner.plan(wanted: wanted, current: try postgres.snapshot(directory: "corp")), run: run)
            let stored = try postgres.snapshot(directory: "corp")
            #expect(stored == wanted)
            #expect(stored.memberDigests == (try sqlite.header(directory: "corp").memberDigests))
            #expect(stored.groupMarkers == (try sqlite.header(directory: "corp").groupMarkers))
        }
    }

    @Test("a run that writes a tenth of the snapshot or more brings the planner's statistics up to date; a small one leaves them")
    func statistics() async throws {
        let pair = try await StorePair.make()
        let postgres = pair.postgres
        let session = try postgres.coordinationSession()
        defer { session.close() }
        /// pg_class.reltuples: -1 until the table is first analyzed (or vacuumed).
        func estimated(_ table: String) throws -> Double {
            let rows = try session.query("SELECT reltuples::float8 FROM pg_class WHERE relname = \(table) AND relkind = 'r'")
            return try rows.first!.decode(Double.self)
        }
        let first = Self.directory(users: 2_000, groups: 40)
        func run() -> RunRecord { RunRecord(directory: "corp", trigger: .manual, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date()) }
        #expect(try estimated("membership") < 0)
        let plan = Planner.plan(wanted: first, current: try postgres.snapshot(directory: "corp"))
        #expect(plan.changeCount >= 1_000)
        try postgres.apply(plan, run: run())
        #expect(try estimated("user") == 2_000)
        #expect(try estimated("membership") == Double(first.membershipCount))
        // A run of a few changes does not analyze: the estimate stays where the last ANALYZE left it.
        try postgres.apply(Planner.plan(wanted: Self.changed(first), current: try postgres.snapshot(directory: "corp")), run: run())
        #expect(try postgres.totals(directory: "corp").users == 1_998)
        #expect(try estimated("user") == 2_000)
    }

    @Test("a plan that does not match the stored snapshot applies nothing, run record included")
    func inconsistentPlan() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let postgres = try await blocking { try PostgresStore(settings: settings) }
        let wanted = Self.directory(users: 50, groups: 5)
        let run = RunRecord(directory: "corp", trigger: .manual, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date())
        try postgres.apply(Planner.plan(wanted: wanted, current: Snapshot()), run: run)
        var bad = Planner.plan(wanted: Self.changed(wanted), current: try postgres.snapshot(directory: "corp"))
        bad.membershipsRemoved.append(Membership(groupID: "no-such-group", member: .user("u1")))
        #expect {
            try postgres.apply(bad, run: run)
        } throws: { "\($0)".contains("no stored group with id no-such-group") }
        #expect(try postgres.snapshot(directory: "corp") == wanted)
        #expect(try postgres.runs().count == 1)
    }
}
