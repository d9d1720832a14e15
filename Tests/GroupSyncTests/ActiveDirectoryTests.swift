import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import SyncConfig
import SyncCore
import SyncStore
import Testing
import Verification

extension Tag {
    @Tag static var samba: Self
}

/// A configuration and a store for syncing one test's OU of the shared domain.
struct ADSyncSetup {
    let folder: URL
    let config: GroupSyncConfig
    let store: Store

    /// `extra`: more keys of the directory, indented as its other keys.
    /// `sections`: top-level sections to add (policies, intents).
    init(domain: SambaDomain, ou: String, extra: String = "", sections: String = "") throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-ad-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writeSecret(SambaDomain.adminPassword, to: folder.appendingPathComponent("password"))
        let configPath = folder.appendingPathComponent("groupsync.yaml").path
        try """
            store:
              path: var/groupsync.sqlite
            directories:
              - name: ad
                url: \(domain.ldapURL)
                bind:
                  dn: \(SambaDomain.adminDN)
                  password_file: password
                users:
                  base: \(ou)
                groups:
                  base: \(ou)
            \(extra)
            \(sections)
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        config = try ConfigLoader.load(path: configPath)
        store = try Store(path: config.store.path)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}

/// Sync against a real Samba AD domain controller (started once per test process).
@Suite("Active Directory flavour against a real Samba AD DC", .tags(.samba))
struct ActiveDirectoryTests {
    @Test("objectGUID ids, sAMAccountName, UPN and smtp: aliases, disabled accounts, nested groups, renames")
    func sync() async throws {
        let domain = try await SambaDomain.shared()
        let ou = try await domain.makeOrganizationalUnit()
        let tag = String(ou.dropFirst("OU=test-".count).prefix(8))
        func user(_ name: String, _ display: String, extra: String = "") -> String {
            """
            dn: CN=\(display),\(ou)
            changetype: add
            objectClass: user
            sAMAccountName: \(name)-\(tag)
            userPrincipalName: \(name)-\(tag)@example.test
            mail: \(name)-\(tag)@example.com
            displayName: \(display)
            \(extra)
            """
        }
        try await domain.modify([
            user("alice", "Alice Archer", extra: "proxyAddresses: SMTP:alice-\(tag)@example.com\nproxyAddresses: smtp:a.archer-\(tag)@example.com\nproxyAddresses: X500:/o=Example/cn=alice"),
            user("bob", "Bob Baker"), user("carol", "Carol Clark"),
        ].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: "\n\n") + "\n\n")
        // Accounts created without a password are disabled; give Alice one and enable her.
        try await domain.setPassword("alice-\(tag)", "Alice-Passw0rd!")
        try await domain.modify("dn: CN=Alice Archer,\(ou)\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n\n")
        try await domain.modify("""
            dn: CN=finance-\(tag),\(ou)
            changetype: add
            objectClass: group
            sAMAccountName: finance-\(tag)
            member: CN=Alice Archer,\(ou)
            member: CN=Bob Baker,\(ou)

            dn: CN=all-staff-\(tag),\(ou)
            changetype: add
            objectClass: group
            sAMAccountName: all-staff-\(tag)
            groupType: 2
            member: CN=finance-\(tag),\(ou)
            member: CN=Carol Clark,\(ou)

            """)

        let setup = try ADSyncSetup(domain: domain, ou: ou)
        defer { setup.remove() }
        let (config, store) = (setup.config, setup.store)
        let runner = SyncRunner(config: config, store: store, logger: quietLogger)

        var report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.outcome == .applied, "\(report.run.message ?? "")")
        var snapshot = try store.snapshot(directory: "ad")
        #expect(snapshot.users.count == 3)
        let alice = try #require(snapshot.users.values.first { $0.username == "alice-\(tag)" })
        #expect(alice.mail == "alice-\(tag)@example.com")
        #expect(Set(alice.aliases) == ["alice-\(tag)@example.com", "a.archer-\(tag)@example.com", "alice-\(tag)@example.test"])
        #expect(alice.displayName == "Alice Archer")
        #expect(!alice.disabled)
        #expect(snapshot.users.values.filter(\.disabled).count == 2, "accounts without a password are disabled")

        // The id is the objectGUID as Samba itself writes it.
        let shown = try await runCommandDetached("samba-tool", ["user", "show", "alice-\(tag)", "-H", "\(domain.folder.path)/private/sam.ldb", "--attributes=objectGUID"])
        let guid = try #require(shown.split(separator: "\n").first { $0.hasPrefix("objectGUID: ") }).dropFirst("objectGUID: ".count)
        #expect(alice.id == guid.lowercased())

        let finance = try #require(snapshot.groups.values.first { $0.name == "finance-\(tag)" })
        let staff = try #require(snapshot.groups.values.first { $0.name == "all-staff-\(tag)" })
        #expect(snapshot.members[finance.id]?.count == 2)
        #expect(finance.type == "security" && staff.type == "distribution", "from groupType")
        #expect(snapshot.members[staff.id]?.contains(.group(finance.id)) == true)
        #expect(try store.effectiveGroups(directory: "ad", userID: alice.id) == [finance.id, staff.id])

        // Found by UPN and by an smtp: alias.
        let service = try VerificationService(config: config, store: store, logger: quietLogger)
        let byUPN = try await service.verify("alice-\(tag)@example.test", targets: [.group("all-staff-\(tag)")])
        #expect(byUPN.user?.id == alice.id && byUPN.allLanded)
        #expect(try await service.verify("A.Archer-\(tag)@example.com", targets: [.group("finance-\(tag)")]).allLanded)

        // A primary group: Carol's primaryGroupID names a group, which then lists her
        // without a member value; groupsync counts her in it.
        try await domain.modify("""
            dn: CN=primary-\(tag),\(ou)
            changetype: add
            objectClass: group
            sAMAccountName: primary-\(tag)
            member: CN=Carol Clark,\(ou)

            """)
        let groupShown = try await runCommandDetached("samba-tool", ["group", "show", "primary-\(tag)", "-H", "\(domain.folder.path)/private/sam.ldb", "--attributes=objectSid"])
        let groupSID = try #require(groupShown.split(separator: "\n").first { $0.hasPrefix("objectSid: ") }).dropFirst("objectSid: ".count)
        let rid = try #require(groupSID.split(separator: "-").last)
        try await domain.modify("dn: CN=Carol Clark,\(ou)\nchangetype: modify\nreplace: primaryGroupID\nprimaryGroupID: \(rid)\n\n")
        let memberValues = try await runCommandDetached("ldapsearch", [
            "-x", "-H", domain.ldapURL, "-D", SambaDomain.adminDN, "-w", SambaDomain.adminPassword, "-LLL", "-b", "CN=primary-\(tag),\(ou)",
            "-s", "base", "member",
        ])
        #expect(!memberValues.contains("CN=Carol Clark"), "AD lists no member value for a primary group")
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.outcome == .applied, "\(report.run.message ?? "")")
        snapshot = try store.snapshot(directory: "ad")
        let carol = try #require(snapshot.users.values.first { $0.username == "carol-\(tag)" })
        let primary = try #require(snapshot.groups.values.first { $0.name == "primary-\(tag)" })
        #expect(snapshot.members[primary.id] == [.user(carol.id)])
        #expect(try store.effectiveGroups(directory: "ad", userID: carol.id).contains(primary.id))

        // Unchanged: no changes. Then a rename keeps the id.
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.outcome == .noChanges, "\(report.run.message ?? "")")
        try await domain.modify("dn: CN=finance-\(tag),\(ou)\nchangetype: modrdn\nnewrdn: CN=finance-team-\(tag)\ndeleteoldrdn: 1\n\n")
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.outcome == .applied)
        #expect(report.run.counts.groups.changed == 1 && report.run.counts.groups.added == 0 && report.run.counts.groups.removed == 0)
        snapshot = try store.snapshot(directory: "ad")
        #expect(snapshot.groups[finance.id]?.name == "finance-team-\(tag)")

        // Moving a user to another OU is one change: the DN, same id.
        try await domain.modify("dn: OU=moved,\(ou)\nchangetype: add\nobjectClass: organizationalUnit\n\n")
        try await domain.modify("dn: CN=Carol Clark,\(ou)\nchangetype: modrdn\nnewrdn: CN=Carol Clark\ndeleteoldrdn: 1\nnewsuperior: OU=moved,\(ou)\n\n")
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.counts.users.changed == 1 && report.run.counts.users.added == 0 && report.run.counts.users.removed == 0)
        #expect(try store.snapshot(directory: "ad").users[carol.id]?.dn == "CN=Carol Clark,OU=moved,\(ou)")

        // Disabling an account is one change of one field.
        try await domain.modify("dn: CN=Alice Archer,\(ou)\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n\n")
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.counts.users.changed == 1)
        #expect(try store.snapshot(directory: "ad").users[alice.id]?.disabled == true)

        // Computers and contacts are not users; deleted objects are gone.
        try await domain.modify("""
            dn: CN=PC1-\(tag),\(ou)
            changetype: add
            objectClass: computer
            sAMAccountName: PC1-\(tag)$

            dn: CN=Partner Contact \(tag),\(ou)
            changetype: add
            objectClass: contact
            mail: partner-\(tag)@partner.example

            dn: CN=Bob Baker,\(ou)
            changetype: delete

            dn: CN=all-staff-\(tag),\(ou)
            changetype: delete

            """)
        report = try #require(try await runner.run(SyncRequest(force: true)).first)
        #expect(report.run.counts.users.added == 0 && report.run.counts.users.removed == 1)
        #expect(report.run.counts.groups.removed == 1)
        snapshot = try store.snapshot(directory: "ad")
        #expect(Set(snapshot.users.values.compactMap(\.username)) == ["alice-\(tag)", "carol-\(tag)"])
        #expect(snapshot.groups[staff.id] == nil)
    }

    @Test("for every user, the effective groups equal the DC's own in-chain answer (three levels, a cycle)")
    func inChain() async throws {
        let domain = try await SambaDomain.shared()
        let ou = try await domain.makeOrganizationalUnit("chain")
        let tag = String(ou.dropFirst("OU=chain-".count).prefix(8))
        let users = 120
        func user(_ index: Int) -> String { "CN=u\(index)-\(tag),\(ou)" }
        func group(_ name: String) -> String { "CN=\(name)-\(tag),\(ou)" }
        var ldif = ""
        for index in 0..<users {
            ldif += "dn: \(user(index))\nchangetype: add\nobjectClass: user\nsAMAccountName: u\(index)-\(tag)\n\n"
        }
        func add(_ name: String, _ members: [String]) {
            ldif += "dn: \(group(name))\nchangetype: add\nobjectClass: group\nsAMAccountName: \(name)-\(tag)\n"
            ldif += members.map { "member: \($0)\n" }.joined() + "\n"
        }
        add("level1", (0..<30).map(user))
        add("level2", [group("level1")] + (30..<50).map(user))
        add("level3", [group("level2"), user(50)])
        add("cycle-a", [user(60)])
        add("cycle-b", [group("cycle-a"), user(61)])
        for index in stride(from: 0, to: users, by: 7) { add("small\(index)", [user(index), user((index + 3) % users), group("level1")]) }
        ldif += "dn: \(group("cycle-a"))\nchangetype: modify\nadd: member\nmember: \(group("cycle-b"))\n\n"
        _ = try await runCommandDetached("ldapmodify", ["-x", "-H", domain.ldapURL, "-D", SambaDomain.adminDN, "-w", SambaDomain.adminPassword], input: ldif)

        let setup = try ADSyncSetup(domain: domain, ou: ou)
        defer { setup.remove() }
        let (config, store) = (setup.config, setup.store)
        let report = try #require(try await SyncRunner(config: config, store: store, logger: quietLogger).run(SyncRequest()).first)
        #expect(report.run.outcome == .applied, "\(report.run.message ?? "")")
        let snapshot = try store.snapshot(directory: "ad")
        #expect(snapshot.users.count == users)

        let session = try await LDAPSession.connect(
            LDAPConnectionOptions(url: domain.ldapURL), credentials: .simple(dn: SambaDomain.adminDN, password: Array(SambaDomain.adminPassword.utf8)))
        var compared = 0
        for (id, user) in snapshot.users {
            let filter = LDAPFilter.extensible(attribute: "member", dnAttributes: false, rule: "1.2.840.113556.1.4.1941", value: user.dn).render()
            let result = try await session.searchAll(LDAPSearchRequest(base: ou, filter: "(&(objectClass=group)\(filter))", attributes: ["objectGUID"]))
            let dcGroups = Set(result.entries.compactMap { SnapshotBuilder.stableID(of: $0, mapping: .activeDirectory) })
            #expect(try store.effectiveGroups(directory: "ad", userID: id) == dcGroups, "\(user.dn)")
            compared += 1
        }
        await session.close()
        #expect(compared == users)
        let u60 = try #require(snapshot.users.values.first { $0.username == "u60-\(tag)" })
        #expect(try store.effectiveGroups(directory: "ad", userID: u60.id).count == 2, "both groups of the cycle")
    }
}

@Suite("Ranged retrieval of large groups from a real Samba AD DC", .tags(.samba))
struct RangedRetrievalTests {
    @Test("a 450-member group read 100 values at a time, and an entry cut short completed range by range")
    func ranges() async throws {
        let domain = try await SambaDomain.shared()
        let ou = try await domain.makeOrganizationalUnit("ranged")
        let tag = String(ou.dropFirst("OU=ranged-".count).prefix(8))
        let count = 450
        var ldif = ""
        for index in 0..<count {
            ldif += "dn: CN=r\(index)-\(tag),\(ou)\nchangetype: add\nobjectClass: user\nsAMAccountName: r\(index)-\(tag)\n\n"
        }
        ldif += "dn: CN=big-\(tag),\(ou)\nchangetype: add\nobjectClass: group\nsAMAccountName: big-\(tag)\n"
        ldif += (0..<count).map { "member: CN=r\($0)-\(tag),\(ou)\n" }.joined() + "\n"
        _ = try await runCommandDetached("ldapmodify", ["-x", "-H", domain.ldapURL, "-D", SambaDomain.adminDN, "-w", SambaDomain.adminPassword], input: ldif)

        let session = try await LDAPSession.connect(
            LDAPConnectionOptions(url: domain.ldapURL), credentials: .simple(dn: SambaDomain.adminDN, password: Array(SambaDomain.adminPassword.utf8)))
        let group = "CN=big-\(tag),\(ou)"
        let plain = try await session.searchAll(LDAPSearchRequest(base: group, scope: .base, attributes: ["member"], pageSize: nil))
        let all = Set(try #require(plain.entries.first)["member"])
        #expect(all.count == count)
        let ranged = try await session.readRanged(dn: group, attribute: "member", step: 100)
        #expect(ranged.count == count && Set(ranged) == all)

        // What a Windows DC sends for a large group: only the first range.
        let first = try await session.searchAll(LDAPSearchRequest(base: group, scope: .base, attributes: ["member;range=0-99", "cn"], pageSize: nil))
        let cut = try #require(first.entries.first)
        #expect(cut.rangedAttributes.map(\.attribute) == ["member"])
        let completed = try await DirectoryReader.completeRanges(of: cut, session: session)
        #expect(Set(completed["member"]) == all)
        #expect(completed.string("cn") == "big-\(tag)")
        await session.close()
    }
}
