import Foundation
import GroupSync
import LDAPTestSupport
import SyncCore
import SyncStore
import Testing

@Suite("Skipping unchanged groups, and incremental runs, give the same result as reading everything", .tags(.slapd))
struct UnchangedGroupsTests {
    /// `off`: full runs that skip groups whose entryCSN did not move; `syncrepl`: incremental
    /// runs through RFC 4533 content synchronization.
    @Test("after each change, a default sync and a --full sync store the same snapshot and report the same changes",
          arguments: ["off", "syncrepl"], SyncHarness.Backend.allCases)
    func sameAsFull(method: String, backend: SyncHarness.Backend) async throws {
        let harness = try await SyncHarness(
            fixture: SyncFixture.standard, limits: ["max_membership_deletions": "100%", "max_user_deletions": "100%"],
            directoryExtra: "    incremental:\n      method: \(method)\n", backend: backend)
        let incremental = method != "off"

        let fullStore = try Store(path: harness.folder.appendingPathComponent("full/groupsync.sqlite").path)
        let fullRunner = SyncRunner(config: harness.config, store: fullStore, logger: quietLogger)

        /// `usersRead`: the usernames a full run without syncprov must read whole (the rest are
        /// read as headers: their entryCSN did not move); nil for every user.
        func syncBoth(_ step: String, expectSkipping: Bool, usersRead: Set<String>? = []) async throws {
            let skipping = try await harness.sync()
            let full = try #require(try await fullRunner.run(SyncRequest(full: true)).first)
            #expect(skipping.run.outcome == full.run.outcome, "\(step)")
            #expect(try harness.snapshot() == fullStore.snapshot(directory: "corp"), "\(step)")
            let skippingChanges = try harness.recordedChanges(skipping)
            let fullChanges = try fullStore.changes(runID: try #require(full.run.id)).map(\.summary)
            #expect(Set(skippingChanges) == Set(fullChanges), "\(step)")
            #expect(skipping.run.totals == full.run.totals, "\(step)")
            if incremental {
                #expect(skipping.run.mode == (step == "initial" ? .full : .incremental), "\(step): \(skipping.run.message ?? "")")
            } else {
                let unloaded = skipping.compared?.wanted.unloadedGroups ?? []
                #expect(unloaded.isEmpty != expectSkipping, "\(step): skipped \(unloaded.count) groups")
                let wanted = try #require(skipping.compared?.wanted)
                #expect(wanted.partialUsers == (usersRead != nil), "\(step)")
                if let usersRead { #expect(Set(wanted.users.values.compactMap(\.username)) == usersRead, "\(step)") }
                #expect(wanted.userCount == full.compared?.wanted.userCount, "\(step)")
            }
            #expect(full.compared?.wanted.unloadedGroups.isEmpty == true)
        }

        try await syncBoth("initial", expectSkipping: false, usersRead: nil)
        try await syncBoth("unchanged", expectSkipping: true)

        // Nest finance in staff: staff's marker moves, finance and sales stay unloaded.
        try harness.directory.modify("""
            dn: cn=staff,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: cn=finance,ou=groups,dc=example,dc=com

            """)
        try await syncBoth("nest finance in staff", expectSkipping: true)

        // Remove alice from finance: staff is unchanged but above finance, so the report
        // still says alice left staff.
        try harness.directory.modify("""
            dn: cn=finance,ou=groups,dc=example,dc=com
            changetype: modify
            delete: member
            member: uid=alice,ou=people,dc=example,dc=com

            """)
        try await syncBoth("remove alice from finance", expectSkipping: true)
        #expect(try harness.store.runs(limit: 1).first.map { try harness.store.changes(runID: $0.id!).map(\.summary) }?
            .contains("alice is no longer a member of staff") == true)

        // Only a description changes: the marker moves, the members do not.
        try harness.directory.modify("""
            dn: cn=sales,ou=groups,dc=example,dc=com
            changetype: modify
            replace: description
            description: the sales team

            """)
        try await syncBoth("description only", expectSkipping: true)
        try await syncBoth("unchanged after the description", expectSkipping: true)

        // A mail address changes: the user is updated, the groups are still skipped.
        try harness.directory.modify("""
            dn: uid=carol,ou=people,dc=example,dc=com
            changetype: modify
            replace: mail
            mail: carol.clark@example.com

            """)
        try await syncBoth("a mail address changes", expectSkipping: true, usersRead: ["carol"])

        // A user moves to another OU: member values might resolve differently, so every
        // group is read.
        try harness.directory.modify("""
            dn: uid=dave,ou=people,dc=example,dc=com
            changetype: modrdn
            newrdn: uid=dave
            deleteoldrdn: 1
            newsuperior: ou=sales,ou=people,dc=example,dc=com

            """)
        try await syncBoth("a user moves", expectSkipping: false, usersRead: ["dave"])

        // A new user (and a dangling value that now resolves to them): everything is read.
        try harness.directory.modify("""
            dn: cn=sales,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=gina,ou=people,dc=example,dc=com

            """)
        try await syncBoth("dangling member", expectSkipping: true)
        try harness.directory.add([DirectoryFixture.person("gina", name: "Gina Gray")])
        try await syncBoth("the dangling member's user appears", expectSkipping: false, usersRead: ["gina"])

        // A renamed group: everything is read.
        try harness.directory.modify("""
            dn: cn=staff,ou=groups,dc=example,dc=com
            changetype: modrdn
            newrdn: cn=employees
            deleteoldrdn: 1

            """)
        try await syncBoth("rename a group", expectSkipping: false)
        try await syncBoth("unchanged at the end", expectSkipping: true)
    }
}
