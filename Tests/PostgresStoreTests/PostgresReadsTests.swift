import Foundation
import PostgresStore
import SyncCore
import SyncStore
import Testing

/// The reads of sync runs (the digest-only header and what completes it, the lookups of
/// incremental runs) answer on PostgreSQL as they do on SQLite.
@Suite("PostgreSQL store: the reads of sync runs")
struct PostgresReadsTests {
    /// Every field of two snapshots, equality's four and the hints it leaves out.
    static func expectSame(_ a: Snapshot, _ b: Snapshot, _ what: String) {
        #expect(a == b, "\(what): users, groups, members or unresolved differ")
        #expect(a.memberDigests == b.memberDigests, "\(what): member digests")
        #expect(a.unloadedGroups == b.unloadedGroups, "\(what): unloaded groups")
        #expect(a.groupMarkers == b.groupMarkers, "\(what): markers")
        #expect(a.partialUsers == b.partialUsers, "\(what): partialUsers")
        #expect(a.userDigests == b.userDigests, "\(what): user digests")
        #expect(a.userResolutionDigests == b.userResolutionDigests, "\(what): resolution digests")
    }

    @Test("header, loadUsers, completeMembers, members, edges, effective groups and the incremental lookups: the same answers")
    func sameAnswers() async throws {
        let pair = try await StorePair.make()
        let (sqlite, postgres) = (pair.sqlite, pair.postgres)
        var first = PostgresSnapshotTests.directory(users: 200, groups: 12)
        first.users["u1"]?.primaryGroup = "S-1-5-21-513"
        first.users["u2"]?.primaryGroup = "S-1-5-21-513"
        first.groups["g2"]?.sid = "S-1-5-21-513"
        first.users["u3"]?.username = "MiXeD"
        let second = PostgresSnapshotTests.changed(first)
        for wanted in [first, second] {
            let run = RunRecord(directory: "corp", trigger: .manual, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date())
            try sqlite.apply(Planner.plan(wanted: wanted, current: try sqlite.snapshot(directory: "corp")), run: run)
            try postgres.apply(Planner.plan(wanted: wanted, current: try postgres.snapshot(directory: "corp")), run: run)
        }
        // The next directory a run reads: some users and members changed again.
        var next = second
        next.users["u12"]?.mail = "again@x.example"
        next.users["u14"] = nil
        next.members["g1", default: []].insert(.user("u20"))
        next.memberDigests = [:]
        next.computeDigests()

        for byDigest in [false, true] {
            for resolution in [false, true] {
                var a = try sqlite.header(directory: "corp", usersByDigest: byDigest, resolutionDigests: resolution)
                var b = try postgres.header(directory: "corp", usersByDigest: byDigest, resolutionDigests: resolution)
                Self.expectSame(a, b, "header byDigest \(byDigest) resolution \(resolution)")
                try sqlite.loadUsers(&a, directory: "corp", differingFrom: next)
                try postgres.loadUsers(&b, directory: "corp", differingFrom: next)
                Self.expectSame(a, b, "after loadUsers")
                var c = a, d = b
                try sqlite.completeMembers(&a, directory: "corp", reusingMembersOf: next)
                try postgres.completeMembers(&b, directory: "corp", reusingMembersOf: next)
                Self.expectSame(a, b, "after completeMembers reusing")
                try sqlite.completeMembers(&c, directory: "corp")
                try postgres.completeMembers(&d, directory: "corp")
                Self.expectSame(c, d, "after completeMembers")
            }
        }
        let someGroups: Set<String> = ["g0", "g1", "gnew", "g4", "nope"]
        var sqliteKeys: [String: MemberRef]? = [:]
        var postgresKeys: [String: MemberRef]? = [:]
        #expect(try sqlite.members(directory: "corp", groupIDs: someGroups, keys: &sqliteKeys)
                == postgres.members(directory: "corp", groupIDs: someGroups, keys: &postgresKeys))
        #expect(sqliteKeys == postgresKeys)
        #expect(sqliteKeys?.isEmpty == false)
        #expect(try sqlite.groupEdges(directory: "corp") == postgres.groupEdges(directory: "corp"))
        for user in ["u1", "u2", "new1", "nobody"] {
            #expect(try sqlite.effectiveGroups(directory: "corp", userID: user) == postgres.effectiveGroups(directory: "corp", userID: user))
        }
        // u2 is in g2 and g1; g2 is in g1, g1 in g0, g0 in gnew.
        #expect(try postgres.effectiveGroups(directory: "corp", userID: "u2") == ["g0", "g1", "g2", "gnew"])
        let ids: Set<String> = ["u1", "g1", "gnew", "nope", "u5"]
        #expect(try sqlite.kinds(directory: "corp", ids: ids) == postgres.kinds(directory: "corp", ids: ids))
        var a: [String: MemberRef]? = [:], b: [String: MemberRef]? = [:]
        Self.expectSame(
            try sqlite.partialSnapshot(directory: "corp", userIDs: ["u1", "u8", "nope"], groupIDs: ["g1", "g3", "g5", "gnew", "nope"], memberKeys: &a),
            try postgres.partialSnapshot(directory: "corp", userIDs: ["u1", "u8", "nope"], groupIDs: ["g1", "g3", "g5", "gnew", "nope"], memberKeys: &b),
            "partial snapshot")
        #expect(a == b)
        let members: Set<MemberRef> = [.user("u1"), .user("u2"), .group("g0"), .group("g1"), .user("nope")]
        #expect(try sqlite.groupsContaining(directory: "corp", members: members) == postgres.groupsContaining(directory: "corp", members: members))
        #expect(try sqlite.unresolvedValues(directory: "corp") == postgres.unresolvedValues(directory: "corp"))
        let keys = Set(["uid=u1,ou=people,dc=x", "UID=u8, OU=moved,DC=x", "cn=g1,ou=groups,dc=x", "cn=nobody,dc=x"].map(DNKey.of))
        #expect(try sqlite.objects(directory: "corp", dnKeys: keys) == postgres.objects(directory: "corp", dnKeys: keys))
        #expect(try postgres.objects(directory: "corp", dnKeys: keys).count == 3)
        let names: Set<String> = ["U1", "u2", "mixed", "nobody", "ÜNICODE"]
        #expect(try sqlite.users(directory: "corp", usernames: names) == postgres.users(directory: "corp", usernames: names))
        #expect(try postgres.users(directory: "corp", usernames: names)["mixed"] == "u3")
        #expect(try sqlite.users(directory: "corp", primaryGroup: "S-1-5-21-513") == postgres.users(directory: "corp", primaryGroup: "S-1-5-21-513"))
        #expect(try sqlite.groups(directory: "corp", sids: ["S-1-5-21-513", "S-1-0"]) == postgres.groups(directory: "corp", sids: ["S-1-5-21-513", "S-1-0"]))
        // The member-level reads of member-only incremental runs (refs differ between the
        // stores; what they name does not).
        let changedGroups: Set<String> = ["g0", "g1", "g3", "gnew", "nope"]
        func named(_ store: any SnapshotStore) throws -> [String: [UInt64: MemberRef]] {
            let stored = try #require(try store.storedMembers(directory: "corp", groupIDs: changedGroups))
            let ids = try store.memberIDs(directory: "corp", stored: Set(stored.values.flatMap(\.byKeyHash.values)))
            return stored.mapValues { $0.byKeyHash.compactMapValues { ids[$0] } }
        }
        let sqliteStored = try #require(try sqlite.storedMembers(directory: "corp", groupIDs: changedGroups))
        let postgresStored = try #require(try postgres.storedMembers(directory: "corp", groupIDs: changedGroups))
        #expect(Set(sqliteStored.keys) == ["g0", "g1", "g3", "gnew"] && Set(postgresStored.keys) == Set(sqliteStored.keys))
        for (id, group) in sqliteStored {
            let other = try #require(postgresStored[id])
            #expect(group.group == other.group && group.marker == other.marker && group.digest == other.digest)
            #expect(group.hasUnresolved == other.hasUnresolved && group.hashesCollide == other.hashesCollide)
            #expect(group.byKeyHash.count == group.digest?.count, "every member of \(id) has a DN key")
        }
        let sqliteNamed = try named(sqlite)
        #expect(sqliteNamed == (try named(postgres)))
        // The hashes are those of the members' DN keys.
        let u1 = try #require(try sqlite.objects(directory: "corp", dnKeys: [DNKey.of("uid=u1,ou=people,dc=x")]).first)
        #expect(sqliteNamed.values.contains { $0[StableHash.of(u1.key)] == u1.value })
        let someUsers: Set<String> = ["u1", "u2", "u20", "nope"]
        #expect(try sqlite.directGroups(directory: "corp", userIDs: someUsers) == postgres.directGroups(directory: "corp", userIDs: someUsers))
        #expect(try postgres.directGroups(directory: "corp", userIDs: ["u2"])["u2"] == ["g1", "g2"])
        // Memberships asked pair by pair: the stored ones come back, on both stores, the same
        // as the users' direct groups say (a group as member, a missing user or group: none).
        let pairs: Set<Membership> = [
            Membership(groupID: "g1", member: .user("u2")), Membership(groupID: "g2", member: .user("u2")),
            Membership(groupID: "g0", member: .user("u2")), Membership(groupID: "g1", member: .user("nope")),
            Membership(groupID: "none", member: .user("u2")), Membership(groupID: "g1", member: .group("g0")),
        ]
        let found = try sqlite.userMemberships(directory: "corp", pairs: pairs)
        #expect(found == [Membership(groupID: "g1", member: .user("u2")), Membership(groupID: "g2", member: .user("u2"))])
        #expect(try postgres.userMemberships(directory: "corp", pairs: pairs) == found)
        #expect(try sqlite.userMemberships(directory: "other", pairs: pairs).isEmpty)
        let direct = try sqlite.directGroups(directory: "corp", userIDs: someUsers)
        let everyPair = Set(someUsers.flatMap { user in changedGroups.map { Membership(groupID: $0, member: .user(user)) } })
        #expect(try sqlite.userMemberships(directory: "corp", pairs: everyPair)
            == everyPair.filter { direct[$0.member.id]?.contains($0.groupID) == true })
        #expect(try sqlite.groups(directory: "corp", ids: changedGroups) == postgres.groups(directory: "corp", ids: changedGroups))
        #expect(try sqlite.allIDs(directory: "corp") == postgres.allIDs(directory: "corp"))
        #expect(try postgres.allIDs(directory: "other").isEmpty)
        #expect(try postgres.integrityProblems().isEmpty)
        try postgres.probeWritable()
    }
}
