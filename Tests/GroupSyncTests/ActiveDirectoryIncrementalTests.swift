import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import SyncCore
import SyncStore
import Testing

/// Incremental runs against a real Samba AD DC: DirSync, and uSNChanged windows.
@Suite("Active Directory incremental runs against a real Samba AD DC", .tags(.samba))
struct ActiveDirectoryIncrementalTests {
    @Test("after adds, field changes, a move, a rename, deletions and member changes, an incremental run applies exactly those and equals a full sync",
          arguments: ["dirsync", "usn"])
    func incremental(method: String) async throws {
        let domain = try await SambaDomain.shared()
        let ou = try await domain.makeOrganizationalUnit("inc")
        let tag = String(ou.dropFirst("OU=inc-".count).prefix(8))
        func user(_ index: Int) -> String { "CN=i\(index)-\(tag),\(ou)" }
        func group(_ name: String) -> String { "CN=\(name)-\(tag),\(ou)" }
        var ldif = "dn: OU=moved,\(ou)\nchangetype: add\nobjectClass: organizationalUnit\n\n"
        for index in 0..<20 {
            ldif += "dn: \(user(index))\nchangetype: add\nobjectClass: user\nsAMAccountName: i\(index)-\(tag)\nmail: i\(index)-\(tag)@example.com\n\n"
        }
        func add(_ name: String, _ members: [String]) {
            ldif += "dn: \(group(name))\nchangetype: add\nobjectClass: group\nsAMAccountName: \(name)-\(tag)\n"
            ldif += members.map { "member: \($0)\n" }.joined() + "\n"
        }
        add("g1", (0..<10).map(user))
        add("gone", [user(11)])
        add("g2", [group("g1"), group("gone"), user(10)])
        add("g3", [group("g2"), user(12)])
        add("other", [user(13)])
        try await domain.modify(ldif)

        let setup = try ADSyncSetup(domain: domain, ou: ou, extra: "    incremental:\n      method: \(method)")
        defer { setup.remove() }
        let (config, store) = (setup.config, setup.store)
        let runner = SyncRunner(config: config, store: store, logger: quietLogger)
        var report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.outcome == .applied && report.run.mode == .full, "\(report.run.message ?? "")")
        #expect(try store.syncState(directory: "ad")?.method == method)

        // Nothing changed: an incremental run that writes nothing.
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.mode == .incremental && report.run.outcome == .noChanges, "\(report.run.message ?? "")")

        let before = try store.snapshot(directory: "ad")
        func id(ofUser index: Int) throws -> String { try #require(before.users.values.first { $0.username == "i\(index)-\(tag)" }).id }
        try await domain.modify("""
            dn: \(user(20))
            changetype: add
            objectClass: user
            sAMAccountName: i20-\(tag)

            dn: \(group("g1"))
            changetype: modify
            add: member
            member: \(user(20))
            -
            delete: member
            member: \(user(5))

            dn: \(user(1))
            changetype: modify
            replace: mail
            mail: new-i1-\(tag)@example.com

            dn: \(user(2))
            changetype: modify
            replace: displayName
            displayName: Two

            dn: \(user(3))
            changetype: modrdn
            newrdn: CN=i3-\(tag)
            deleteoldrdn: 1
            newsuperior: OU=moved,\(ou)

            dn: \(group("g3"))
            changetype: modrdn
            newrdn: CN=g3-renamed-\(tag)
            deleteoldrdn: 1

            dn: \(user(4))
            changetype: delete

            dn: \(group("gone"))
            changetype: delete

            """)
        // Safety limits hold for incremental runs too: one group of five is over 10% (a dry
        // run says so; a real stop would make the next run full, see PartialResultTests).
        report = try #require(try await runner.run(SyncRequest(dryRun: true)).first)
        #expect(report.run.mode == .incremental && report.run.outcome == .dryRun, "\(report.run.message ?? "")")
        #expect(report.run.message?.contains("a real run would stop: stopped by safety limits") == true, "\(report.run.message ?? "")")
        report = try #require(try await runner.run(SyncRequest(force: true)).first)
        #expect(report.run.mode == .incremental && report.run.outcome == .applied, "\(report.run.message ?? "")")
        let counts = report.run.counts
        #expect(counts.users.added == 1 && counts.users.removed == 1 && counts.users.changed == 3, "\(counts)")
        #expect(counts.groups.added == 0 && counts.groups.removed == 1 && counts.groups.changed == 1, "\(counts)")
        // g1: +i20 −i5 −i4 (deleted); g2: −gone; gone: −i11.
        #expect(counts.memberships.added == 1 && counts.memberships.removed == 4, "\(counts)")
        let plan = try #require(report.plan)
        let g3 = try #require(before.groups.values.first { $0.name == "g3-\(tag)" })
        #expect(plan.effectiveLost.contains(EffectiveChange(userID: try id(ofUser: 5), groupID: g3.id)), "through g1 ⊂ g2 ⊂ g3")
        #expect(plan.effectiveLost.contains(EffectiveChange(userID: try id(ofUser: 11), groupID: g3.id)), "through the deleted group")

        // The store equals a full sync of the same directory into an empty store.
        let fresh = try ADSyncSetup(domain: domain, ou: ou, extra: "    incremental:\n      method: off")
        defer { fresh.remove() }
        let full = try #require(try await SyncRunner(config: fresh.config, store: fresh.store, logger: quietLogger).run(SyncRequest()).first)
        #expect(full.run.outcome == .applied)
        let incremental = try store.snapshot(directory: "ad")
        let reference = try fresh.store.snapshot(directory: "ad")
        #expect(incremental.users == reference.users)
        #expect(incremental.groups == reference.groups)
        #expect(incremental.members == reference.members)
        #expect(incremental.unresolved == reference.unresolved)
        #expect(incremental.users[try id(ofUser: 3)]?.dn == "CN=i3-\(tag),OU=moved,\(ou)")

        // The next full run finds nothing more.
        report = try #require(try await runner.run(SyncRequest(full: true)).first)
        #expect(report.run.mode == .full && report.run.outcome == .noChanges, "\(report.run.message ?? "")")

        // A cookie the server rejects, a cookie of another DC, a full run due: each run is
        // full (and correct), and takes a new position for the next.
        var state = try #require(try store.syncState(directory: "ad"))
        let good = state
        state.cookie = method == "usn" ? Array("not a number".utf8) : Array(repeating: 0x41, count: 40)
        try store.saveSyncState(state, directory: "ad")
        try await domain.modify("dn: \(user(6))\nchangetype: modify\nreplace: mail\nmail: six-\(tag)@example.com\n\n")
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.mode == .full && report.run.outcome == .applied && report.run.counts.users.changed == 1, "\(report.run.message ?? "")")
        #expect(try store.syncState(directory: "ad")?.cookie != state.cookie)

        state = good
        state.server = "CN=NTDS Settings,CN=DC2,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test"
        try store.saveSyncState(state, directory: "ad")
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.mode == .full && report.run.outcome == .noChanges, "\(report.run.message ?? "")")

        state = try #require(try store.syncState(directory: "ad"))
        state.fullRunAt = Date().addingTimeInterval(-25 * 3600)
        try store.saveSyncState(state, directory: "ad")
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.mode == .full, "full_every is 24 h by default")
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.run.mode == .incremental && report.run.outcome == .noChanges, "\(report.run.message ?? "")")
    }
}

/// `groupsync check` against the Samba AD DC.
@Suite("groupsync check against a real Samba AD DC", .tags(.samba))
struct ActiveDirectoryCheckTests {
    @Test("every step passes and names DirSync; a wrong password is explained by AD's data code")
    func check() async throws {
        let domain = try await SambaDomain.shared()
        let ou = try await domain.makeOrganizationalUnit("check")
        try await domain.modify("dn: CN=someone,\(ou)\nchangetype: add\nobjectClass: user\nsAMAccountName: someone-\(ou.prefix(20).count)\n\n")
        let setup = try ADSyncSetup(domain: domain, ou: ou)
        defer { setup.remove() }
        var answer = await ConnectionChecker(config: setup.config, logger: quietLogger).run()
        #expect(answer.passed, "\(answer.text)")
        let steps = Dictionary(uniqueKeysWithValues: (answer.directories.first?.steps ?? []).map { ($0.name, $0) })
        #expect(steps["root DSE"]?.detail.contains("Active Directory") == true && steps["root DSE"]?.detail.contains("DirSync") == true,
                "\(steps["root DSE"]?.detail ?? "")")
        #expect(steps["users"]?.detail.hasPrefix("1 users") == true, "\(steps["users"]?.detail ?? "")")

        try writeSecret("not-the-password", to: setup.folder.appendingPathComponent("password"))
        answer = await ConnectionChecker(config: setup.config, logger: quietLogger).run()
        let bind = answer.directories.first?.steps.first { $0.name == "bind" }
        #expect(bind?.status == .fail && bind?.hint?.contains("wrong password (data 52e)") == true, "\(bind?.detail ?? "") \(bind?.hint ?? "")")
    }
}
