import SyncCore
import LDAPClient
import LDAPTestSupport
import Testing

/// Table-style tests of `plan = diff(wanted, current)`: value types in, a plan out.
@Suite("Planner: the pure diff")
struct PlannerTests {
    static let alice = DirectoryUser(id: "u-alice", dn: "uid=alice,ou=people,dc=x", username: "alice", mail: "alice@x")
    static let bob = DirectoryUser(id: "u-bob", dn: "uid=bob,ou=people,dc=x", username: "bob", mail: "bob@x")
    static let carol = DirectoryUser(id: "u-carol", dn: "uid=carol,ou=people,dc=x", username: "carol")
    static let finance = DirectoryGroup(id: "g-fin", dn: "cn=finance,ou=groups,dc=x", name: "finance")
    static let staff = DirectoryGroup(id: "g-staff", dn: "cn=staff,ou=groups,dc=x", name: "staff")
    static let all = DirectoryGroup(id: "g-all", dn: "cn=all,ou=groups,dc=x", name: "all")

    static let base = Snapshot(
        users: [alice, bob], groups: [finance, staff],
        memberships: [Membership(groupID: "g-fin", member: .user("u-alice")), Membership(groupID: "g-staff", member: .user("u-bob"))])

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var current: Snapshot
        var wanted: Snapshot
        var counts: ChangeCounts
        var summaries: [String]
        var gained: [EffectiveChange] = []
        var lost: [EffectiveChange] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "identical snapshots plan nothing", current: base, wanted: base, counts: ChangeCounts(), summaries: []),
        Case(
            name: "first sync into an empty store adds everything, without effective changes",
            current: Snapshot(), wanted: base,
            counts: ChangeCounts(users: .init(added: 2), groups: .init(added: 2), memberships: .init(added: 2)),
            summaries: [
                "add user alice (uid=alice,ou=people,dc=x)", "add user bob (uid=bob,ou=people,dc=x)",
                "add group finance (cn=finance,ou=groups,dc=x)", "add group staff (cn=staff,ou=groups,dc=x)",
                "add alice to group finance", "add bob to group staff",
            ]),
        Case(
            name: "a new user added to a group",
            current: base,
            wanted: Snapshot(
                users: [alice, bob, carol], groups: [finance, staff],
                memberships: base.allMemberships + [Membership(groupID: "g-fin", member: .user("u-carol"))]),
            counts: ChangeCounts(users: .init(added: 1), memberships: .init(added: 1)),
            summaries: [
                "add user carol (uid=carol,ou=people,dc=x)", "add carol to group finance",
                "carol is now a member of finance (directly or through nested groups)",
            ],
            gained: [EffectiveChange(userID: "u-carol", groupID: "g-fin")]),
        Case(
            name: "a user moved to another OU is one change with the same id",
            current: base,
            wanted: Snapshot(
                users: [DirectoryUser(id: "u-alice", dn: "uid=alice,ou=staff,dc=x", username: "alice", mail: "alice@x"), bob],
                groups: [finance, staff], memberships: base.allMemberships),
            counts: ChangeCounts(users: .init(changed: 1)),
            summaries: ["change user alice: dn uid=alice,ou=people,dc=x → uid=alice,ou=staff,dc=x"]),
        Case(
            name: "a renamed group is a change, its memberships stay",
            current: base,
            wanted: Snapshot(
                users: [alice, bob],
                groups: [DirectoryGroup(id: "g-fin", dn: "cn=accounting,ou=groups,dc=x", name: "accounting"), staff],
                memberships: base.allMemberships),
            counts: ChangeCounts(groups: .init(changed: 1)),
            summaries: ["change group accounting: dn cn=finance,ou=groups,dc=x → cn=accounting,ou=groups,dc=x; name finance → accounting"]),
        Case(
            name: "a removed member and a removed user",
            current: base,
            wanted: Snapshot(users: [alice], groups: [finance, staff], memberships: [Membership(groupID: "g-fin", member: .user("u-alice"))]),
            counts: ChangeCounts(users: .init(removed: 1), memberships: .init(removed: 1)),
            summaries: [
                "remove user bob (uid=bob,ou=people,dc=x)", "remove bob from group staff",
                "bob is no longer a member of staff",
            ],
            lost: [EffectiveChange(userID: "u-bob", groupID: "g-staff")]),
        Case(
            name: "nesting a group makes its members effective members of the outer group",
            current: Snapshot(users: [alice, bob], groups: [finance, staff, all], memberships: base.allMemberships + [Membership(groupID: "g-all", member: .group("g-staff"))]),
            wanted: Snapshot(
                users: [alice, bob], groups: [finance, staff, all],
                memberships: base.allMemberships + [Membership(groupID: "g-all", member: .group("g-staff")), Membership(groupID: "g-staff", member: .group("g-fin"))]),
            counts: ChangeCounts(memberships: .init(added: 1)),
            summaries: [
                "add group finance to group staff",
                "alice is now a member of all (directly or through nested groups)",
                "alice is now a member of staff (directly or through nested groups)",
            ],
            gained: [EffectiveChange(userID: "u-alice", groupID: "g-all"), EffectiveChange(userID: "u-alice", groupID: "g-staff")]),
        Case(
            name: "a cycle ends, and members of the cycle count once",
            current: base,
            wanted: Snapshot(
                users: [alice, bob], groups: [finance, staff],
                memberships: base.allMemberships + [Membership(groupID: "g-fin", member: .group("g-staff")), Membership(groupID: "g-staff", member: .group("g-fin"))]),
            counts: ChangeCounts(memberships: .init(added: 2)),
            summaries: [
                "add group staff to group finance", "add group finance to group staff",
                "bob is now a member of finance (directly or through nested groups)",
                "alice is now a member of staff (directly or through nested groups)",
            ],
            gained: [EffectiveChange(userID: "u-bob", groupID: "g-fin"), EffectiveChange(userID: "u-alice", groupID: "g-staff")]),
        Case(
            name: "an unresolved member value is planned and described",
            current: base,
            wanted: Snapshot(users: [alice, bob], groups: [finance, staff], memberships: base.allMemberships, unresolved: [UnresolvedMember(groupID: "g-fin", value: "uid=ghost,ou=people,dc=x")]),
            counts: ChangeCounts(),
            summaries: ["group finance has a member that matches no user or group in scope: uid=ghost,ou=people,dc=x"]),
    ]

    @Test("plans", arguments: cases)
    func plans(_ testCase: Case) {
        let plan = Planner.plan(wanted: testCase.wanted, current: testCase.current)
        #expect(plan.counts == testCase.counts)
        #expect(Set(plan.changes.map(\.summary)) == Set(testCase.summaries))
        #expect(plan.changes.count == testCase.summaries.count)
        #expect(Set(plan.effectiveGained) == Set(testCase.gained))
        #expect(Set(plan.effectiveLost) == Set(testCase.lost))
        #expect(plan.isEmpty == (testCase.summaries.isEmpty))
    }

    @Test("applying a plan's changes to the current snapshot gives the wanted one: planning again says nothing to do")
    func idempotent() {
        for testCase in Self.cases {
            let plan = Planner.plan(wanted: testCase.wanted, current: testCase.current)
            var applied = testCase.current
            for user in plan.usersRemoved { applied.users[user.id] = nil }
            for user in plan.usersAdded { applied.users[user.id] = user }
            for change in plan.usersChanged { applied.users[change.after.id] = change.after }
            for group in plan.groupsRemoved { applied.groups[group.id] = nil }
            for group in plan.groupsAdded { applied.groups[group.id] = group }
            for change in plan.groupsChanged { applied.groups[change.after.id] = change.after }
            for membership in plan.membershipsRemoved { applied.members[membership.groupID]?.remove(membership.member) }
            for membership in plan.allMembershipsAdded { applied.members[membership.groupID, default: []].insert(membership.member) }
            for value in plan.unresolvedRemoved { applied.unresolved[value.groupID]?.remove(value.value) }
            for value in plan.unresolvedAdded { applied.unresolved[value.groupID, default: []].insert(value.value) }
            applied.members = applied.members.filter { !$0.value.isEmpty }
            applied.unresolved = applied.unresolved.filter { !$0.value.isEmpty }
            #expect(Planner.plan(wanted: testCase.wanted, current: applied).isEmpty, "\(testCase.name)")
        }
    }

    @Test("effective membership closes over nesting and survives cycles")
    func effective() {
        let snapshot = Snapshot(
            users: [Self.alice, Self.bob, Self.carol], groups: [Self.finance, Self.staff, Self.all],
            memberships: [
                Membership(groupID: "g-all", member: .group("g-staff")), Membership(groupID: "g-staff", member: .group("g-fin")),
                Membership(groupID: "g-fin", member: .group("g-all")), Membership(groupID: "g-fin", member: .user("u-alice")),
                Membership(groupID: "g-staff", member: .user("u-bob")), Membership(groupID: "g-all", member: .user("u-carol")),
            ])
        let effective = EffectiveMembership(snapshot)
        for group in ["g-all", "g-staff", "g-fin"] {
            #expect(effective.users(of: group) == ["u-alice", "u-bob", "u-carol"])
        }
        #expect(EffectiveMembership.ancestors(of: ["g-fin"], in: snapshot) == ["g-fin", "g-staff", "g-all"])
    }

    /// Every user's effective membership of every group, recomputed from scratch on both
    /// sides and compared: what the planner must report as gained and lost.
    static func bruteForceEffective(wanted: Snapshot, current: Snapshot) -> (gained: Set<EffectiveChange>, lost: Set<EffectiveChange>) {
        var gained = Set<EffectiveChange>(), lost = Set<EffectiveChange>()
        let after = EffectiveMembership(wanted), before = EffectiveMembership(current)
        for group in Set(wanted.groups.keys).union(current.groups.keys) {
            let new = wanted.groups[group] == nil ? [] : after.users(of: group)
            let old = current.groups[group] == nil ? [] : before.users(of: group)
            for user in new.subtracting(old) { gained.insert(EffectiveChange(userID: user, groupID: group)) }
            for user in old.subtracting(new) { lost.insert(EffectiveChange(userID: user, groupID: group)) }
        }
        return (gained, lost)
    }

    @Test("effective changes equal a full recomputation on random snapshots: flat groups, nesting, cycles, groups added and removed")
    func effectiveMatchesRecomputation() {
        var random = SplitMix64(seed: 3)
        func next(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
        let users = (0..<8).map { DirectoryUser(id: "u\($0)", dn: "uid=u\($0),dc=x", username: "u\($0)") }
        let groups = (0..<7).map { DirectoryGroup(id: "g\($0)", dn: "cn=g\($0),dc=x", name: "g\($0)") }
        func randomSnapshot(nesting: Int) -> Snapshot {
            var memberships: [Membership] = []
            let present = groups.filter { _ in next(8) > 0 }
            for group in present {
                for user in users where next(3) == 0 { memberships.append(Membership(groupID: group.id, member: .user(user.id))) }
                for other in present where other.id != group.id && next(10) < nesting {
                    memberships.append(Membership(groupID: group.id, member: .group(other.id)))
                }
            }
            return Snapshot(users: users, groups: present, memberships: memberships)
        }
        var checked = 0, flatChanges = 0
        for round in 0..<400 {
            // A third of the rounds without nesting (every group takes the direct path), the
            // rest with some nesting and the cycles it makes.
            let nesting = round % 3 == 0 ? 0 : 1 + next(3)
            let current = randomSnapshot(nesting: nesting)
            // Mostly a few direct changes to the current snapshot, sometimes a different one.
            var wanted = current
            if next(4) == 0 {
                wanted = randomSnapshot(nesting: nesting)
            } else {
                for _ in 0..<(1 + next(4)) {
                    let keys = wanted.groups.keys.sorted()
                    guard !keys.isEmpty else { break }
                    let group = keys[next(keys.count)]
                    let user = MemberRef.user("u\(next(users.count))")
                    if wanted.members[group]?.contains(user) == true { wanted.members[group]?.remove(user) } else {
                        wanted.members[group, default: []].insert(user)
                    }
                }
                wanted.members = wanted.members.filter { !$0.value.isEmpty }
            }
            let plan = Planner.plan(wanted: wanted, current: current)
            let expected = Self.bruteForceEffective(wanted: wanted, current: current)
            #expect(Set(plan.effectiveGained) == expected.gained, "round \(round)")
            #expect(Set(plan.effectiveLost) == expected.lost, "round \(round)")
            #expect(plan.effectiveGained.count == expected.gained.count && plan.effectiveLost.count == expected.lost.count, "no duplicates, round \(round)")
            checked += expected.gained.count + expected.lost.count
            if nesting == 0 { flatChanges += expected.gained.count + expected.lost.count }
        }
        #expect(checked > 500 && flatChanges > 100, "the rounds exercise both paths: \(checked) changes, \(flatChanges) without nesting")
    }
}

@Suite("Snapshot building from entries")
struct SnapshotBuilderTests {
    static func entry(_ dn: String, _ attributes: [(String, [String])]) -> LDAPEntry {
        LDAPEntry(dn: dn, attributes: attributes.map { LDAPAttribute(name: $0.0, strings: $0.1) })
    }

    @Test("member values resolve by normalised DN, uniqueMember UIDs are stripped, the rest is unresolved")
    func resolution() throws {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        try builder.addUser(Self.entry("uid=ann,ou=people,dc=x", [("entryUUID", ["U-1"]), ("uid", ["ann"])]))
        try builder.addUser(Self.entry(#"cn=Lee\, Bo,ou=people,dc=x"#, [("entryUUID", ["u-2"]), ("uid", ["bo"])]))
        try builder.addGroup(Self.entry("cn=a,ou=groups,dc=x", [
            ("entryUUID", ["g-1"]), ("cn", ["a"]),
            ("member", ["UID=Ann, OU=People,DC=X", "cn=b,ou=groups,dc=x", "uid=gone,dc=x"]),
            ("uniqueMember", [#"cn=lee\2C bo,ou=people,dc=x#'0101'B"#]),
        ]))
        try builder.addGroup(Self.entry("cn=b,ou=groups,dc=x", [("entryUUID", ["g-2"]), ("memberUid", ["ANN", "nobody"])]))
        let snapshot = builder.finish()
        #expect(snapshot.users.keys.sorted() == ["u-1", "u-2"], "ids are lower-cased")
        #expect(snapshot.members["g-1"] == [.user("u-1"), .user("u-2"), .group("g-2")])
        #expect(snapshot.members["g-2"] == [.user("u-1")])
        #expect(snapshot.unresolved == ["g-1": ["uid=gone,dc=x"], "g-2": ["nobody"]])
        #expect(snapshot.groups["g-2"]?.name == "b", "a group without cn is named by its RDN")
    }

    @Test("every value of a member attribute resolves, wherever it sits in the attribute (a UID suffix on a later value too)")
    func laterValues() throws {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        for name in ["ann", "bo", "cy"] {
            try builder.addUser(Self.entry("uid=\(name),ou=people,dc=x", [("entryUUID", ["u-\(name)"]), ("uid", [name])]))
        }
        try builder.addGroup(Self.entry("cn=a,ou=groups,dc=x", [
            ("entryUUID", ["g-1"]),
            ("uniqueMember", ["uid=ann,ou=people,dc=x", "uid=bo,ou=people,dc=x#'0101'B", "UID=CY,OU=PEOPLE,DC=X#'1'B", "uid=gone,dc=x#'1'B"]),
        ]))
        let snapshot = builder.finish()
        #expect(snapshot.members["g-1"] == [.user("u-ann"), .user("u-bo"), .user("u-cy")])
        #expect(snapshot.unresolved["g-1"] == ["uid=gone,dc=x"])
    }

    @Test("known objects (not read in this run) resolve member values as the group arrives; a user read in the run comes first")
    func known() throws {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        try builder.addUser(Self.entry("uid=ann,ou=people,dc=x", [("entryUUID", ["u-1"]), ("uid", ["ann"])]))
        builder.addKnown(.user("u-9"), normalizedDN: "uid=zed,ou=people,dc=x")
        builder.addKnown(.group("g-9"), normalizedDN: "cn=staff,ou=groups,dc=x")
        builder.addKnown(.user("stale"), normalizedDN: "uid=ann,ou=people,dc=x")
        try builder.addGroup(Self.entry("cn=a,ou=groups,dc=x", [
            ("entryUUID", ["g-1"]),
            ("member", ["UID=Zed, OU=People,DC=X", "cn=staff,ou=groups,dc=x", "uid=ann,ou=people,dc=x", "uid=gone,dc=x"]),
        ]))
        #expect(builder.pendingKeys.dns == ["uid=gone,dc=x"], "only what no one resolved waits for the store")
        let snapshot = builder.finish()
        #expect(snapshot.members["g-1"] == [.user("u-9"), .group("g-9"), .user("u-1")])
        #expect(snapshot.unresolved["g-1"] == ["uid=gone,dc=x"])
    }

    @Test("users added as headers resolve member values by DN and username; the snapshot lists them by digest")
    func headers() throws {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        try builder.addUnchangedUser(Self.entry("uid=ann,ou=people,dc=x", [("entryUUID", ["u-1"]), ("uid", ["ann"]), ("entryCSN", ["c1"])]), digest: 42)
        try builder.addUser(Self.entry("uid=bo,ou=people,dc=x", [("entryUUID", ["u-2"]), ("uid", ["bo"]), ("entryCSN", ["c2"])]))
        #expect(builder.userCount == 2 && builder.users.keys.sorted() == ["u-2"])
        #expect(throws: MappingError.self) { try builder.addUser(Self.entry("uid=x,dc=x", [("entryUUID", ["U-1"])])) }
        try builder.addGroup(Self.entry("cn=a,ou=groups,dc=x", [("entryUUID", ["g-1"]), ("member", ["UID=ANN,ou=people,dc=x", "uid=bo,ou=people,dc=x"])]))
        try builder.addGroup(Self.entry("cn=b,ou=groups,dc=x", [("entryUUID", ["g-2"]), ("memberUid", ["Ann"])]))
        let marker = builder.marker(of: Self.entry("uid=bo,ou=people,dc=x", [("entryCSN", ["c2"])]))
        let snapshot = builder.finish()
        #expect(snapshot.partialUsers && snapshot.userCount == 2)
        #expect(snapshot.userDigests["u-1"] == 42 && snapshot.userDigests["u-2"] == snapshot.users["u-2"]?.stableDigest)
        #expect(snapshot.members["g-1"] == [.user("u-1"), .user("u-2")])
        #expect(snapshot.members["g-2"] == [.user("u-1")])
        #expect(snapshot.userMarkers == ["u-2": StableHash.of(marker!)])
        #expect(marker == "c2@" + AttributeMapping.openLDAP.markerScope)
        var other = AttributeMapping.openLDAP
        other.mail = "email"
        #expect(other.markerScope != AttributeMapping.openLDAP.markerScope, "another mapping, other markers")
    }

    @Test("an entry without the stable id, or a duplicate id, is an error naming the entry")
    func errors() throws {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        let missing = try #require(throws: MappingError.self) { try builder.addUser(Self.entry("uid=x,dc=x", [("uid", ["x"])])) }
        #expect(missing.description == "entry \"uid=x,dc=x\" has no entryUUID (the stable id attribute); groupsync cannot track it safely")
        try builder.addUser(Self.entry("uid=a,dc=x", [("entryUUID", ["1"])]))
        #expect(throws: MappingError.self) { try builder.addUser(Self.entry("uid=b,dc=x", [("entryUUID", ["1"])])) }
    }
}

@Suite("Member digests and the describe limit")
struct PlanScalingTests {
    @Test("the digest ignores order and changes with any member")
    func digest() {
        let a: Set<MemberRef> = [.user("1"), .user("2"), .group("3")]
        #expect(MemberDigest(a) == MemberDigest([.group("3"), .user("2"), .user("1")]))
        #expect(MemberDigest(a) != MemberDigest([.user("1"), .user("2"), .user("3")]))
        #expect(MemberDigest(a) != MemberDigest([.user("1"), .user("2")]))
        #expect(MemberDigest(a).count == 3)
    }

    @Test("groups whose digests agree are not compared; a digest that differs is")
    func skipsUnchangedGroups() {
        var wanted = PlannerTests.base
        wanted.computeDigests()
        var current = wanted
        // The same digest with other members: the planner trusts the digest and skips the group…
        current.members["g-fin"] = [.user("u-bob")]
        #expect(Planner.plan(wanted: wanted, current: current).allMembershipsAdded.isEmpty)
        // …and compares it once the digest says it changed.
        current.memberDigests["g-fin"] = MemberDigest(current.members["g-fin"]!)
        let plan = Planner.plan(wanted: wanted, current: current)
        #expect(plan.allMembershipsAdded == [Membership(groupID: "g-fin", member: .user("u-alice"))])
        #expect(plan.memberDigests["g-fin"] == wanted.memberDigests["g-fin"])
    }

    @Test("a plan describes at most its limit of changes but counts them all")
    func describeLimit() {
        let plan = Planner.plan(wanted: PlannerTests.base, current: Snapshot(), describeLimit: 3)
        #expect(plan.changes.count == 3)
        #expect(plan.changeCount == 6)
        #expect(plan.counts.users.added == 2 && plan.counts.memberships.added == 2)
    }
}

@Suite("The member DN index")
struct DNIndexTests {
    @Test("thousands of keys resolve to their own index, and nothing else resolves")
    func manyKeys() throws {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        for index in 0..<5000 {
            try builder.addUser(LDAPEntry(dn: "uid=user\(index),ou=people,dc=x", attributes: [LDAPAttribute(name: "entryUUID", strings: ["id-\(index)"])]))
        }
        let members = (0..<5000).map { "UID=User\($0), ou=People,dc=X" } + ["uid=user5000,ou=people,dc=x", "not a dn"]
        try builder.addGroup(LDAPEntry(dn: "cn=all,dc=x", attributes: [
            LDAPAttribute(name: "entryUUID", strings: ["g"]), LDAPAttribute(name: "member", strings: members),
        ]))
        let snapshot = builder.finish()
        #expect(snapshot.members["g"]?.count == 5000)
        #expect(snapshot.members["g"]?.contains(.user("id-4321")) == true)
        #expect(snapshot.unresolved["g"] == ["uid=user5000,ou=people,dc=x", "not a dn"])
    }
}

@Suite("Planning against partially loaded users")
struct PartialUsersTests {
    @Test("a user known only by a matching digest is unchanged; loaded users are compared; missing ones are removed")
    func partial() {
        var current = PlannerTests.base
        current.partialUsers = true
        current.userDigests = Dictionary(uniqueKeysWithValues: current.users.map { ($0.key, $0.value.stableDigest) })
        current.users = [:]
        var wanted = PlannerTests.base
        #expect(Planner.plan(wanted: wanted, current: current).isEmpty)
        #expect(current.userCount == 2 && !current.isEmpty)
        // Bob's mail changes: the loader would have loaded his stored row.
        wanted.users["u-bob"]?.mail = "robert@x"
        current.users["u-bob"] = PlannerTests.bob
        let plan = Planner.plan(wanted: wanted, current: current)
        #expect(plan.usersChanged.map(\.after.id) == ["u-bob"])
        #expect(plan.usersAdded.isEmpty && plan.usersRemoved.isEmpty)
        #expect(DirectoryUser(id: "a", dn: "uid=a").stableDigest != DirectoryUser(id: "a", dn: "uid=a", mail: "m").stableDigest)
        #expect(DirectoryUser(id: "a", dn: "uid=a").resolutionDigest == DirectoryUser(id: "a", dn: "uid=a", mail: "m").resolutionDigest)
    }

    @Test("users the directory snapshot knows by digest only (read as headers) stay; loaded ones are compared; markers to remember")
    func partialWanted() {
        let current = PlannerTests.base
        var wanted = Snapshot(groups: current.groups, members: current.members)
        wanted.partialUsers = true
        wanted.userDigests = Dictionary(uniqueKeysWithValues: current.users.map { ($0.key, $0.value.stableDigest) })
        #expect(Planner.plan(wanted: wanted, current: current).isEmpty, "no user removed")
        #expect(wanted.userCount == current.users.count)

        // Bob read whole with a new mail and marker; a new user.
        var bob = PlannerTests.bob
        bob.mail = "robert@x"
        wanted.users["u-bob"] = bob
        wanted.userDigests["u-bob"] = bob.stableDigest
        let cy = DirectoryUser(id: "u-cy", dn: "uid=cy,dc=x", username: "cy")
        wanted.users["u-cy"] = cy
        wanted.userDigests["u-cy"] = cy.stableDigest
        wanted.userMarkers = ["u-bob": 2, "u-cy": 3]
        var stored = current
        stored.userMarkers = ["u-bob": 1, "u-cy": 3]
        var plan = Planner.plan(wanted: wanted, current: stored)
        #expect(plan.usersChanged.map(\.after.id) == ["u-bob"])
        #expect(plan.usersAdded.map(\.id) == ["u-cy"])
        #expect(plan.usersRemoved.isEmpty)
        #expect(plan.userMarkers == ["u-bob": 2, "u-cy": 3], "the markers of the users read whole")
        #expect(plan.movedUserMarkers.isEmpty, "bob changed, cy is new: their rows carry their markers")
        // Alice read whole, unchanged, with a new marker: it is written on its own.
        wanted.users["u-alice"] = PlannerTests.alice
        wanted.userMarkers["u-alice"] = 7
        stored.userMarkers["u-alice"] = 6
        #expect(Planner.plan(wanted: wanted, current: stored).movedUserMarkers == ["u-alice": 7])
        #expect(StableHash.of(Array("ab@c".utf8)[0..<2], then: "@c") == StableHash.of("ab@c"))

        // A user the wanted snapshot lacks altogether is removed.
        wanted.users["u-alice"] = nil
        wanted.userMarkers["u-alice"] = nil
        wanted.userDigests["u-alice"] = nil
        plan = Planner.plan(wanted: wanted, current: stored)
        #expect(plan.usersRemoved.map(\.id) == ["u-alice"])
    }
}
