import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import SyncCore
import SyncStore
import Testing

/// The issue's whole matrix on one seeded domain: 5,000 users in two OUs, departments nested
/// three levels deep with a cycle, a 5,000-member group, primary groups; then each kind of
/// change, one incremental run, and a full run that finds nothing more.
@Suite("A seeded Active Directory domain: effective groups, changes, incremental runs", .tags(.samba))
struct ActiveDirectoryDomainTests {
    static let users = 5000

    @Test("effective groups equal the DC's own answer (tokenGroups for all 5,000 users, in-chain plus primary group for a sample); an incremental run applies exactly the changes")
    func seededDomain() async throws {
        let domain = try await SambaDomain.shared()
        let ou = try await domain.makeOrganizationalUnit("seed")
        let tag = String(ou.dropFirst("OU=seed-".count).prefix(8))
        func user(_ index: Int) -> String { "CN=s\(index)-\(tag),OU=\(index % 2 == 0 ? "staff" : "contractors"),\(ou)" }
        func group(_ name: String) -> String { "CN=\(name)-\(tag),OU=groups,\(ou)" }
        var ldif = ""
        for child in ["staff", "contractors", "groups", "moved"] {
            ldif += "dn: OU=\(child),\(ou)\nchangetype: add\nobjectClass: organizationalUnit\n\n"
        }
        for index in 0..<Self.users {
            ldif += "dn: \(user(index))\nchangetype: add\nobjectClass: user\nsAMAccountName: s\(index)-\(tag)\n"
            ldif += "mail: s\(index)-\(tag)@example.com\n\n"
        }
        func add(_ name: String, _ members: [String]) {
            ldif += "dn: \(group(name))\nchangetype: add\nobjectClass: group\nsAMAccountName: \(name)-\(tag)\n"
            ldif += members.map { "member: \($0)\n" }.joined() + "\n"
        }
        // Level 1: twenty departments of 100; level 2: four divisions of five departments
        // and a few people; level 3: the company. A cycle beside them.
        for department in 0..<20 { add("dept\(department)", (0..<100).map { user(department * 100 + $0) }) }
        for division in 0..<4 {
            add("division\(division)", (0..<5).map { group("dept\(division * 5 + $0)") } + (0..<10).map { user(2000 + division * 10 + $0) })
        }
        add("company", (0..<4).map { group("division\($0)") } + [user(2100)])
        add("cycle-a", [user(2200)])
        add("cycle-b", [group("cycle-a"), user(2201)])
        add("everyone", (0..<Self.users).map(user))
        add("primary", (3000..<3050).map(user))
        add("doomed", [user(3100), user(3101)])
        ldif += "dn: \(group("cycle-a"))\nchangetype: modify\nadd: member\nmember: \(group("cycle-b"))\n\n"
        let seeding = ContinuousClock.now
        _ = try await runCommandDetached("ldapmodify", ["-x", "-H", domain.ldapURL, "-D", SambaDomain.adminDN, "-w", SambaDomain.adminPassword], input: ldif)

        // Fifty users get "primary" as their primary group (AD then drops their member values).
        let sid = try await objectSID(of: group("primary"), domain: domain)
        let rid = try #require(sid.split(separator: "-").last)
        var primaryLDIF = ""
        for index in 3000..<3050 { primaryLDIF += "dn: \(user(index))\nchangetype: modify\nreplace: primaryGroupID\nprimaryGroupID: \(rid)\n\n" }
        _ = try await runCommandDetached("ldapmodify", ["-x", "-H", domain.ldapURL, "-D", SambaDomain.adminDN, "-w", SambaDomain.adminPassword], input: primaryLDIF)
        // One account with a password, enabled, to be disabled later.
        try await domain.setPassword("s7-\(tag)", "Seven-Passw0rd!")
        try await domain.modify("dn: \(user(7))\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n\n")
        print("seeded \(Self.users) users in \(ContinuousClock.now - seeding)")

        let setup = try ADSyncSetup(domain: domain, ou: ou, extra: "    limits:\n      max_group_deletions: 5\n      max_user_deletions: 5", sections: """
            policies:
              - name: Doomed bypass
                type: content-examination-bypass
                targets:
                  - group: doomed-\(tag)
            """)
        defer { setup.remove() }
        let (config, store) = (setup.config, setup.store)
        let runner = SyncRunner(config: config, store: store, logger: quietLogger)
        var report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.outcome == .applied && report.run.mode == .full, "\(report.run.message ?? "")")
        let snapshot = try store.snapshot(directory: "ad")
        #expect(snapshot.users.count == Self.users)
        let everyone = try #require(snapshot.groups.values.first { $0.name == "everyone-\(tag)" })
        let primary = try #require(snapshot.groups.values.first { $0.name == "primary-\(tag)" })
        #expect(snapshot.members[everyone.id]?.count == Self.users)
        #expect(snapshot.members[primary.id]?.count == 50, "members through primaryGroupID, without member values")

        // The 5,000-member group read in ranges of 1,500 gives the same members.
        let session = try await LDAPSession.connect(
            LDAPConnectionOptions(url: domain.ldapURL), credentials: .simple(dn: SambaDomain.adminDN, password: Array(SambaDomain.adminPassword.utf8)))
        let ranged = try await session.readRanged(dn: group("everyone"), attribute: "member", step: 1500)
        #expect(ranged.count == Self.users)

        // For every user, the DC's own answer: tokenGroups, the transitive security groups
        // the DC computes for the user's token, primary group included (all groups here are
        // security groups). Samba answers it in milliseconds.
        let groupBySID = Dictionary(uniqueKeysWithValues: snapshot.groups.values.compactMap { group in group.sid.map { ($0, group.id) } })
        var mismatches: [String] = []
        for (id, user) in snapshot.users {
            let token = try await session.searchAll(LDAPSearchRequest(base: user.dn, scope: .base, attributes: ["tokenGroups"], pageSize: nil))
            let sids = try #require(token.entries.first)["tokenGroups"].compactMap(SnapshotBuilder.sidString)
            let expected = Set(sids.compactMap { groupBySID[$0] })
            if try store.effectiveGroups(directory: "ad", userID: id) != expected { mismatches.append(user.dn) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) users differ from tokenGroups, e.g. \(mismatches.prefix(3))")

        // And, for a sample across every shape (each tenth user, the cycle, the primary-group
        // users, the division and company members), the in-chain matching rule the issue
        // names, plus the primary group (which in-chain does not follow). Samba takes about
        // 0.2 s per user for this, too slow for all 5,000 in CI.
        let sample = Set(stride(from: 0, to: Self.users, by: 50)).union([2000, 2015, 2039, 2100, 2200, 2201, 3000, 3049, 3100])
        for index in sample {
            let dn = user(index)
            let id = try #require(snapshot.users.values.first { $0.dn == dn }).id
            let filter = LDAPFilter.extensible(attribute: "member", dnAttributes: false, rule: "1.2.840.113556.1.4.1941", value: dn).render()
            let result = try await session.searchAll(LDAPSearchRequest(base: ou, filter: "(&(objectClass=group)\(filter))", attributes: ["objectGUID"]))
            var expected = Set(result.entries.compactMap { SnapshotBuilder.stableID(of: $0, mapping: .activeDirectory) })
            if snapshot.users[id]?.primaryGroup == primary.sid { expected.insert(primary.id) }
            if try store.effectiveGroups(directory: "ad", userID: id) != expected { mismatches.append(dn) }
        }
        await session.close()
        #expect(mismatches.isEmpty, "\(mismatches.count) users differ from the in-chain answer, e.g. \(mismatches.prefix(3))")
        let company = try #require(snapshot.groups.values.first { $0.name == "company-\(tag)" })
        let u150 = try #require(snapshot.users.values.first { $0.username == "s150-\(tag)" })
        #expect(try store.effectiveGroups(directory: "ad", userID: u150.id).contains(company.id), "three levels up")

        // Each kind of change, then one incremental run.
        let doomed = try #require(snapshot.groups.values.first { $0.name == "doomed-\(tag)" })
        try await domain.modify("""
            dn: \(user(7))
            changetype: modify
            replace: userAccountControl
            userAccountControl: 514

            dn: \(user(8))
            changetype: modrdn
            newrdn: CN=s8-\(tag)
            deleteoldrdn: 1
            newsuperior: OU=moved,\(ou)

            dn: \(group("dept3"))
            changetype: modrdn
            newrdn: CN=dept3-renamed-\(tag)
            deleteoldrdn: 1

            dn: \(user(9))
            changetype: delete

            dn: \(group("doomed"))
            changetype: delete

            dn: \(group("dept0"))
            changetype: modify
            add: member
            member: \(user(4999))

            """)
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.mode == .incremental && report.run.outcome == .applied, "\(report.run.message ?? "")")
        let counts = report.run.counts
        #expect(counts.users.changed == 2 && counts.users.removed == 1 && counts.users.added == 0, "\(counts)")
        #expect(counts.groups.changed == 1 && counts.groups.removed == 1 && counts.groups.added == 0, "\(counts)")
        // −s9 from dept0 and everyone, −s3100 −s3101 with doomed; +s4999 in dept0.
        #expect(counts.memberships.added == 1 && counts.memberships.removed == 4, "\(counts)")
        let after = try store.snapshot(directory: "ad")
        let u7 = try #require(snapshot.users.values.first { $0.username == "s7-\(tag)" })
        let u8 = try #require(snapshot.users.values.first { $0.username == "s8-\(tag)" })
        #expect(snapshot.users[u7.id]?.disabled == false && after.users[u7.id]?.disabled == true)
        #expect(after.users[u8.id]?.dn == "CN=s8-\(tag),OU=moved,\(ou)")
        #expect(after.groups.values.contains { $0.name == "dept3-renamed-\(tag)" })
        #expect(after.groups[doomed.id] == nil)

        // The policy on the deleted group is a lint finding now.
        let service = try VerificationService(config: config, store: store, logger: quietLogger)
        let lint = try service.report().lint
        #expect(lint.contains { $0.code == "target-gone" && $0.message.contains("doomed-\(tag)") }, "\(lint)")

        // A full run finds nothing more.
        report = try #require(try await runner.run(SyncRequest(full: true)).first)
        #expect(report.run.mode == .full && report.run.outcome == .noChanges, "\(report.run.message ?? "") \(report.run.counts)")
    }

    private func objectSID(of dn: String, domain: SambaDomain) async throws -> String {
        let session = try await LDAPSession.connect(
            LDAPConnectionOptions(url: domain.ldapURL), credentials: .simple(dn: SambaDomain.adminDN, password: Array(SambaDomain.adminPassword.utf8)))
        let result = try await session.searchAll(LDAPSearchRequest(base: dn, scope: .base, attributes: ["objectSid"], pageSize: nil))
        await session.close()
        return try #require(result.entries.first?["objectSid"].first.flatMap(SnapshotBuilder.sidString))
    }
}
