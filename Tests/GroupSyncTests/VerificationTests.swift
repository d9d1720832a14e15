import Foundation
import GroupSync
import LDAPTestSupport
@testable import SyncStore
import Testing
import Verification

@Suite("verify, explain and report against a real slapd", .tags(.slapd))
struct VerificationTests {
    @Test("landed with a three-level nested path; users found by mail, alias, proxyAddresses smtp:, DN with escapes",
          arguments: SyncHarness.Backend.allCases)
    func landedAndLookups(backend: SyncHarness.Backend) async throws {
        let harness = try await VerificationFixture.harness(backend: backend)
        try await harness.syncAndReport()
        let answer = try await harness.verify("alice", [.policy("Permitted Finance"), .group("permitted-senders-finance")])
        #expect(answer.allLanded)
        #expect(answer.results[0].paths == [["alice", "finance", "all-finance", "permitted-senders-finance", "PS Finance", "Permitted Finance"]])
        #expect(answer.results[1].paths == [["alice", "finance", "all-finance", "permitted-senders-finance"]])
        #expect(answer.snapshot?.runID != nil && answer.snapshot?.stale == false)
        // The answer names the configuration its snapshot was synced with, stored with the run.
        let digest = try #require(answer.snapshot?.configDigest)
        #expect(try harness.store.config(digest: digest)?.text == harness.config.text)
        #expect(answer.snapshot?.configChanged == false)

        for name in ["ALICE@example.com", "a.archer@EXAMPLE.com", "alice.alias@example.com", "UID=Alice, OU=People,DC=example,DC=com"] {
            #expect(try await harness.verify(name, [.group("finance")]).user?.username == "alice", "\(name)")
        }
        // The X500 proxy address is not a mail address.
        #expect(try await harness.verify("/o=Example/cn=alice", [.group("finance")]).user == nil)
        // A DN written with other escapes and case, and filter syntax that must match nobody.
        let js = try await harness.verify(#"uid=js+cn=SMITH\2c JOHN,ou=people,dc=example,dc=com"#, [.group("sales")])
        #expect(js.user?.username == "js")
        let injected = try await harness.verify("*)(uid=*", [.group("finance")], live: true)
        #expect(injected.user == nil)
        #expect(injected.results[0].reasonCode == "user-unknown")
        #expect(injected.results[0].live?.message == "the directory has no such user now either")
    }

    @Test("each reason from a real directory state: unknown, disabled, not a member, gone, empty, no targets, stale",
          arguments: SyncHarness.Backend.allCases)
    func reasons(backend: SyncHarness.Backend) async throws {
        let harness = try await VerificationFixture.harness(backend: backend)
        try await harness.syncAndReport()

        let unknown = try await harness.verify("alcie", [.group("finance")])
        #expect(unknown.results[0].reasonCode == "user-unknown")
        #expect(unknown.results[0].suggestions?.contains("alice") == true)

        let disabled = try await harness.verify("dave", [.group("sales")])
        #expect(disabled.results[0].reasonCode == "user-disabled")
        #expect(disabled.results[0].reason?.contains("the membership exists") == true)

        let carol = try await harness.verify("carol", [.policy("Permitted Finance")])
        #expect(carol.results[0].reasonCode == "not-a-member")
        #expect(carol.results[0].suggestions == ["permitted-senders-finance", "all-finance", "finance"])

        let gone = try await harness.verify("alice", [.group("cn=no-such-group,ou=groups,dc=example,dc=com")])
        #expect(gone.results[0].reasonCode == "target-gone")

        let empty = try await harness.verify("alice", [.group("empty"), .policy("Empty Policy")])
        #expect(empty.results.map(\.reasonCode) == ["target-empty", "target-empty"])

        let ghost = try await harness.verify("alice", [.policy("Ghost Policy")])
        #expect(ghost.results[0].reasonCode == "no-targets")
        #expect(ghost.results[0].reason?.contains("ghost.user") == true)

        // Three hours after the last sync, with a 30-minute schedule: stale.
        let later = try await harness.service(now: Date().addingTimeInterval(3 * 3600)).verify("carol", targets: [.group("finance")])
        #expect(later.snapshot?.stale == true)
        #expect(later.results[0].reasonCode == "snapshot-stale")
        #expect(later.results[0].reason?.contains("carol is in none of the groups") == true)

        // Unknown policy names are usage errors, not "did not land".
        await #expect(throws: VerifyError.self) { try await harness.verify("alice", [.policy("No Such Policy")]) }
    }

    @Test("a user added in the directory: not landed, --live says not synced yet, landed after sync")
    func liveThenSync() async throws {
        let harness = try await VerificationFixture.harness()
        try await harness.syncAndReport()
        try harness.directory.add([DirectoryFixture.person("frank", name: "Frank Fox")])
        try harness.directory.modify("""
            dn: cn=finance,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=frank,ou=people,dc=example,dc=com

            """)
        let before = try await harness.verify("frank", [.policy("Permitted Finance")])
        #expect(before.results[0].reasonCode == "user-unknown")
        let live = try await harness.verify("frank", [.policy("Permitted Finance")], live: true)
        #expect(live.results[0].reasonCode == "not-synced")
        #expect(live.results[0].live?.landed == true)
        #expect(live.results[0].live?.message.contains("run `groupsync sync`") == true)

        let carolLive = try await harness.verify("carol", [.policy("Permitted Finance")], live: true)
        #expect(carolLive.results[0].reasonCode == "not-a-member")
        #expect(carolLive.results[0].live?.landed == false)

        try await harness.syncAndReport()
        let after = try await harness.verify("frank", [.policy("Permitted Finance")], live: true)
        #expect(after.allLanded)
        #expect(after.results[0].live?.message == "the directory agrees")
    }

    @Test("explain: nested groups with paths, profile groups, relay profiles, policies, conflicts")
    func explain() async throws {
        let harness = try await VerificationFixture.harness()
        try await harness.syncAndReport()
        let answer = try #require(try harness.service().explain("alice").answer)
        #expect(Set(answer.groups.map(\.name)) == ["finance", "all-finance", "permitted-senders-finance", "contractors"])
        #expect(answer.groups.first { $0.name == "all-finance" }?.direct == false)
        #expect(answer.groups.first { $0.name == "all-finance" }?.path == ["alice", "finance", "all-finance"])
        #expect(answer.profileGroups.map(\.name) == ["PS Finance"])
        #expect(answer.relayProfiles.map(\.name) == ["Finance Relay"])
        #expect(Set(answer.policies.map(\.name)) == ["Permitted Finance", "Blocked Contractors", "Examine All"])
        #expect(answer.policies.first { $0.name == "Blocked Contractors" }?.via == ["contractors"])
        #expect(answer.conflicts.map(\.kind) == ["permitted-and-blocked"])

        let unknown = try harness.service().explain("nobody-here")
        #expect(unknown.answer == nil)
    }

    @Test("report: intents with newly landed and lost users across runs; a removed group becomes lint and target-gone",
          arguments: SyncHarness.Backend.allCases)
    func report(backend: SyncHarness.Backend) async throws {
        let harness = try await VerificationFixture.harness(backend: backend)
        var report = try await harness.syncAndReport()
        let onboarding = try #require(report.intents.first { $0.name == "Finance onboarding" })
        #expect(Set(onboarding.landed.map(\.user)) == ["alice", "bob"])
        #expect(onboarding.notLanded.map(\.user) == ["frank"])
        #expect(onboarding.notLanded.first?.reasonCode == "user-unknown")
        let byFilter = try #require(report.intents.first { $0.name == "Sales by filter" })
        #expect(byFilter.landed.map(\.user) == ["carol"])
        #expect(report.lint.contains { $0.code == "permitted-and-blocked" && $0.severity == "error" })
        #expect(report.lint.contains { $0.code == "no-targets" && $0.subject == "policy Ghost Policy" })
        #expect(report.lint.contains { $0.code == "target-empty" })
        #expect(report.lint.contains { $0.code == "everyone-policy" })

        try harness.directory.add([DirectoryFixture.person("frank", name: "Frank Fox")])
        try harness.directory.modify("""
            dn: cn=finance,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=frank,ou=people,dc=example,dc=com
            -
            delete: member
            member: uid=bob,ou=people,dc=example,dc=com

            """)
        try harness.directory.delete("cn=legacy,ou=groups,dc=example,dc=com")
        report = try await harness.syncAndReport()
        let second = try #require(report.intents.first { $0.name == "Finance onboarding" })
        #expect(second.newlyLanded.map(\.user) == ["frank"])
        #expect(second.lost.map(\.user) == ["bob"])
        #expect(second.lost.first?.reasonCode == "not-a-member")
        #expect(report.lint.contains { $0.code == "target-gone" && $0.subject == "policy Legacy Policy" })
        let legacy = try #require(report.intents.first { $0.name == "Sales on legacy" })
        #expect(legacy.landed.isEmpty)
        #expect(Set(legacy.notLanded.compactMap(\.reasonCode)) == ["target-gone", "user-disabled"])
        #expect(legacy.lost.map(\.user) == ["carol"])
        #expect(!report.isClean)

        let gone = try await harness.verify("carol", [.policy("Legacy Policy")])
        #expect(gone.results[0].reasonCode == "target-gone")
    }

    @Test("verify --file: a CSV batch with mixed results; bad CSV names the line")
    func batch() async throws {
        let harness = try await VerificationFixture.harness()
        try await harness.syncAndReport()
        let csv = """
            user,group,policy
            alice,,Permitted Finance
            carol,,Permitted Finance
            "uid=js+cn=Smith\\, John,ou=people,dc=example,dc=com",sales,
            bob,"cn=finance,ou=groups,dc=example,dc=com",

            """
        let batch = try VerifyBatch(csv: csv, file: "onboarding.csv")
        #expect(batch.rows.map(\.line) == [2, 3, 4, 5])
        let service = try harness.service()
        var landed: [Bool] = []
        for row in batch.rows { landed.append(try await service.verify(row.user, targets: row.targets).allLanded) }
        #expect(landed == [true, false, true, true])

        #expect(throws: VerifyError.self) { try VerifyBatch(csv: "user,group\nalice,finance,extra\n", file: "x.csv") }
        #expect(throws: VerifyError.self) { try VerifyBatch(csv: "user,department\nalice,finance\n", file: "x.csv") }
        do {
            _ = try VerifyBatch(csv: "user,group\nalice,finance\nbob,\"cn=a,\n", file: "x.csv")
            Issue.record("an unclosed quote must fail")
        } catch {
            #expect(error.description.contains("x.csv:3"))
        }
    }
}

@Suite("The daemon's in-memory index answers exactly as the store", .tags(.slapd))
struct SnapshotIndexTests {
    static let targets: [Target] = [
        .policy("Permitted Finance"), .policy("Blocked Contractors"), .policy("Ghost Policy"), .policy("Legacy Policy"),
        .policy("Empty Policy"), .policy("Examine All"), .profileGroup("PS Finance"), .profileGroup("Partners"), .group("finance"),
        .group("cn=all-finance,ou=groups,dc=example,dc=com"), .group("empty"), .group("no-such-group"),
    ]
    static let names = [
        "alice", "bob", "carol", "dave", "js", "ALICE@example.com", "a.archer@example.com", "alice.alias@example.com",
        "uid=bob,ou=people,dc=example,dc=com", #"uid=js+cn=SMITH\2c JOHN,ou=people,dc=example,dc=com"#, "alcie", "nobody",
    ]

    /// verify, explain, the landing evaluation and report give the same answers from `index`
    /// as from the store.
    static func expectSameAnswers(_ index: SnapshotIndex, _ harness: SyncHarness, names: [String] = names) async throws {
        let now = Date()
        let fromStore = try VerificationService(config: harness.config, store: harness.store, logger: quietLogger, now: { now })
        let fromIndex = try VerificationService(config: harness.config, store: harness.store, index: index, logger: quietLogger, now: { now })
        // The daemon evaluates the landing report that ends each run from its index.
        let runID = try #require(try harness.store.lastSuccessfulRun(directory: "corp")?.id)
        let matches = try await fromStore.matchFilterIntents()
        let landedFromIndex = try fromIndex.evaluateLandings(runID: runID, filterMatches: matches)
        #expect(try fromStore.evaluateLandings(runID: runID, filterMatches: matches) == landedFromIndex)
        #expect(!landedFromIndex.isEmpty)
        for name in names {
            let a = try SyncJSON.encode(try await fromStore.verify(name, targets: targets))
            let b = try SyncJSON.encode(try await fromIndex.verify(name, targets: targets))
            #expect(a == b, "verify \(name)")
            let explainA = try fromStore.explain(name)
            let explainB = try fromIndex.explain(name)
            #expect(try SyncJSON.encode(explainA.answer) == SyncJSON.encode(explainB.answer), "explain \(name)")
            #expect(explainA.closeMatches == explainB.closeMatches)
        }
        #expect(try SyncJSON.encode(fromStore.report()) == SyncJSON.encode(fromIndex.report()))
    }

    @Test("verify, explain and report: same JSON from the index and from the store", arguments: SyncHarness.Backend.allCases)
    func sameAnswers(backend: SyncHarness.Backend) async throws {
        let harness = try await VerificationFixture.harness(backend: backend)
        try await harness.syncAndReport()
        try await Self.expectSameAnswers(try harness.store.loadIndex(), harness)
    }

    @Test("a run's plan written into the index gives the index a rebuild from the store gives",
          arguments: SyncHarness.Backend.allCases)
    func patched(backend: SyncHarness.Backend) async throws {
        let harness = try await VerificationFixture.harness(backend: backend)
        try await harness.syncAndReport()
        let before = try harness.store.loadIndex()
        // Members added and removed (users and a group), a group renamed, a user renamed
        // (uid and DN; the test slapd's refint overlay renames its member values), users' mail and aliases changed.
        try harness.directory.modify("""
            dn: cn=finance,ou=groups,dc=example,dc=com
            changetype: modify
            delete: member
            member: uid=alice,ou=people,dc=example,dc=com
            -
            add: member
            member: uid=carol,ou=people,dc=example,dc=com
            member: uid=dave,ou=people,dc=example,dc=com

            dn: cn=legacy,ou=groups,dc=example,dc=com
            changetype: modrdn
            newrdn: cn=heritage
            deleteoldrdn: 1

            dn: cn=contractors,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: cn=heritage,ou=groups,dc=example,dc=com

            dn: cn=all-finance,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=carol,ou=people,dc=example,dc=com

            dn: uid=bob,ou=people,dc=example,dc=com
            changetype: modrdn
            newrdn: uid=robert
            deleteoldrdn: 1

            dn: uid=carol,ou=people,dc=example,dc=com
            changetype: modify
            replace: mail
            mail: c.clark@example.com
            -
            add: objectClass
            objectClass: mailAliases
            -
            add: mailAlternateAddress
            mailAlternateAddress: carol.c@example.com

            dn: uid=alice,ou=people,dc=example,dc=com
            changetype: modify
            delete: mailAlternateAddress
            mailAlternateAddress: a.archer@example.com

            """)
        let report = try await harness.sync()
        #expect(report.run.outcome == .applied)
        let plan = try #require(report.plan)
        #expect(plan.usersChanged.count == 3 && plan.groupsChanged.count == 1)
        #expect(plan.membershipsAdded.count == 4 && plan.membershipsRemoved.count == 1)
        let patched = try #require(before.applying(plan, directory: "corp"))
        let rebuilt = try harness.store.loadIndex()
        #expect(patched.parts == rebuilt.parts)
        #expect(patched.parts != before.parts)
        // Written twice (a rebuild that had already read the run): nothing changes twice.
        #expect(rebuilt.applying(plan, directory: "corp")?.parts == rebuilt.parts)
        try await Self.expectSameAnswers(
            patched, harness, names: Self.names + ["robert", "c.clark@example.com", "carol.c@example.com", "uid=robert,ou=people,dc=example,dc=com"])

        // Another directory's name finds none of the plan's objects.
        #expect(rebuilt.applying(plan, directory: "elsewhere") == nil)
    }

    @Test("users and groups added and removed are written into the index too; vacated positions answer nothing",
          arguments: SyncHarness.Backend.allCases)
    func patchedObjects(backend: SyncHarness.Backend) async throws {
        let harness = try await VerificationFixture.harness(backend: backend)
        try await harness.syncAndReport()
        let before = try harness.store.loadIndex()
        // A new hire in two groups (one of them new, nested in another), a leaver, a group
        // removed that was nested in another and held users.
        try harness.directory.add([
            DirectoryFixture.person("erin", name: "Erin Evans", extra: [("objectClass", "mailAliases"), ("mailAlternateAddress", "e.evans@example.com")]),
            DirectoryFixture.group("new-hires", members: [VerificationFixture.dn("erin"), VerificationFixture.dn("carol")]),
        ])
        try harness.directory.modify("""
            dn: cn=finance,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=erin,ou=people,dc=example,dc=com

            dn: cn=contractors,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: cn=new-hires,ou=groups,dc=example,dc=com

            """)
        try harness.directory.delete(VerificationFixture.dn("dave"))
        try harness.directory.delete(VerificationFixture.group("legacy"))
        // One user of five removed is over the default deletion limit.
        let report = try await harness.sync(force: true)
        #expect(report.run.outcome == .applied)
        let plan = try #require(report.plan)
        #expect(plan.usersAdded.map(\.username) == ["erin"] && plan.usersRemoved.map(\.username) == ["dave"])
        #expect(plan.groupsAdded.map(\.name) == ["new-hires"] && plan.groupsRemoved.map(\.name) == ["legacy"])

        // Without the new user as the store holds it (its ref), no patch.
        #expect(before.applying(plan, directory: "corp") == nil)
        let keys = SnapshotIndex.usersToRead(for: plan, directory: "corp")
        let added = try harness.store.withAnyCatalog { try $0.users(keys: keys) }
        let patched = try #require(before.applying(plan, directory: "corp", addedUsers: added))
        let rebuilt = try harness.store.loadIndex()
        #expect(patched.canonical == rebuilt.canonical)
        #expect(patched.vacatedUsers == 1 && patched.vacatedGroups == 1 && patched.userCount == rebuilt.userCount)
        try await Self.expectSameAnswers(
            patched, harness, names: Self.names + ["erin", "e.evans@example.com", "uid=dave,ou=people,dc=example,dc=com", "dav"])

        // The next run goes on from the patched index: dave's position stays vacant.
        try harness.directory.modify("""
            dn: cn=new-hires,ou=groups,dc=example,dc=com
            changetype: modify
            delete: member
            member: uid=carol,ou=people,dc=example,dc=com

            """)
        let next = try #require(try await harness.sync().plan)
        let again = try #require(patched.applying(next, directory: "corp"))
        #expect(again.canonical == (try harness.store.loadIndex()).canonical)
    }
}

extension SnapshotIndex {
    /// The index's tables by key instead of position, lists in their order: equal for two
    /// indexes that answer alike, whatever positions a patch left vacant.
    struct Canonical: Equatable {
        var users: [UserKey: UserInfo] = [:], groups: [GroupKey: GroupInfo] = [:]
        var userLookups: [String: [UserKey]] = [:], groupLookups: [String: [GroupKey]] = [:]
        var userByRef: [Int64: UserKey] = [:]
        var userGroups: [UserKey: [GroupKey]] = [:], groupUsers: [GroupKey: [UserKey]] = [:]
        var groupParents: [GroupKey: [GroupKey]] = [:], groupChildren: [GroupKey: [GroupKey]] = [:]
    }

    var canonical: Canonical {
        let parts = self.parts
        var result = Canonical()
        let userKey = { (position: Int32) in parts.users[Int(position)].key }
        let groupKey = { (position: Int32) in parts.groupKeys[Int(position)] }
        for (key, position) in parts.userByKey {
            result.users[key] = parts.users[Int(position)]
            #expect(parts.users[Int(position)].key == key)
            let groups = parts.userGroups[Int(position)].map(groupKey)
            if !groups.isEmpty { result.userGroups[key] = groups }
        }
        for (key, position) in parts.groupByKey {
            result.groups[key] = parts.groups[Int(position)]
            let users = parts.groupUsers[Int(position)].map(userKey)
            if !users.isEmpty { result.groupUsers[key] = users }
            let parents = parts.groupParents[Int(position)].map(groupKey)
            if !parents.isEmpty { result.groupParents[key] = parents }
            let children = parts.groupChildren[Int(position)].map(groupKey)
            if !children.isEmpty { result.groupChildren[key] = children }
        }
        for (table, name) in [(parts.userByName, "name"), (parts.userByAddress, "address"), (parts.userByDN, "dn")] {
            for (value, positions) in table { result.userLookups[name + ":" + value] = positions.map(userKey) }
        }
        for (table, name) in [(parts.groupByName, "name"), (parts.groupByDN, "dn")] {
            for (value, positions) in table { result.groupLookups[name + ":" + value] = positions.map(groupKey) }
        }
        for (ref, position) in parts.userByRef { result.userByRef[ref] = userKey(position) }
        return result
    }
}

@Suite("The API's JSON writer")
struct JSONWriterTests {
    @Test("writes the same document as the Codable encoding, escapes included")
    func sameDocument() throws {
        var result = VerifyAnswer.Result(TargetResult(
            target: .group("cn=a\\, \"b\",dc=x"), landed: false,
            reason: Reason(.notAMember, "line\nbreak\ttab \u{1} é", suggestions: ["g1", "g2"])))
        result.live = VerifyAnswer.Live(landed: true, message: "in the directory")
        let landed = VerifyAnswer.Result(TargetResult(
            target: .policy("P"), landed: true, paths: [[PathStep(.user, "alice"), PathStep(.group, "finance")]]))
        for answer in [
            VerifyAnswer(query: "alice", user: nil, snapshot: nil, results: [result, landed]),
        ] {
            let codable = try JSONSerialization.jsonObject(with: Data(try SyncJSON.encode(answer).utf8)) as! NSDictionary
            let written = try JSONSerialization.jsonObject(with: Data(answer.jsonBytes())) as! NSDictionary
            #expect(codable == written)
        }
    }
}
