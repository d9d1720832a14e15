import Foundation
import GroupSync
import LDAPClient
import LDAPTestSupport
import SyncCore
import SyncStore
import Testing
import Verification

/// A directory with the entries that break sync tools: a 10,000-member group, a user with
/// 10,000 addresses, a group that lists itself, a DN with every escape, members written
/// in another escaping. The sync finishes, and verify and explain answer correctly.
@Suite("Hostile directory entries against slapd", .tags(.slapd))
struct HostileDirectoryTests {
    static let people = SyncHarness.people
    static let escaped = ##"cn=\#lead\, comma \+ plus \"quote\" \<lt\> \>gt\; semi \\ back \=eq\ ,ou=people,dc=example,dc=com"##
    static let escapedHex = #"CN=\23lead\2C comma \2B plus \22quote\22 \3Clt\3E \3Egt\3B semi \5C back \3Deq\20,OU=People,DC=Example,DC=com"#

    static var fixture: DirectoryFixture {
        var fixture = DirectoryFixture.people(10_000)
        fixture.entries.append(DirectoryFixture.person("many", extra: (0..<9_999).map { ("mail", "many.\($0)@example.com") }))
        fixture.entries.append(LDIFEntry(dn: escaped, [
            ("objectClass", "inetOrgPerson"), ("cn", #"#lead, comma + plus "quote" <lt> >gt; semi \ back =eq "#), ("sn", "x"), ("uid", "escaped"),
        ]))
        fixture.entries += [
            DirectoryFixture.group("everyone", members: (0..<10_000).map { String(format: "uid=user%04d,\(people)", $0) }),
            DirectoryFixture.group("ouroboros", members: ["cn=ouroboros,ou=groups,dc=example,dc=com", "uid=user0001,\(people)"]),
            DirectoryFixture.group("escapes", members: [escapedHex]),
        ]
        return fixture
    }

    @Test("the sync completes and every answer is right")
    func hostileEntries() async throws {
        // Every mail value is an alias: the 10,000 of them are read, stored and looked up.
        let harness = try await SyncHarness(fixture: Self.fixture, directoryExtra: "    attributes:\n      aliases: [mail]\n", extra: """
            policies:
              - name: All Staff
                type: permitted-senders
                targets:
                  - group: everyone
            """)
        let report = try await harness.sync()
        #expect(report.run.outcome == .applied, "\(report.run.message ?? "")")
        let snapshot = try harness.snapshot()
        #expect(snapshot.users.count == 10_002)
        let everyone = try #require(snapshot.groups.values.first { $0.name == "everyone" })
        #expect(snapshot.members[everyone.id]?.count == 10_000)
        let many = try #require(snapshot.users.values.first { $0.username == "many" })
        #expect(many.aliases.count == 9_999 || many.aliases.count == 10_000, "\(many.aliases.count)")
        let escapes = try #require(snapshot.groups.values.first { $0.name == "escapes" })
        #expect(snapshot.members[escapes.id]?.count == 1 && snapshot.unresolved[escapes.id] == nil, "\(snapshot.unresolved)")

        let service = try VerificationService(config: harness.config, store: harness.store, logger: quietLogger)
        func landed(_ user: String, _ target: Target) async throws -> Bool {
            try #require(try await service.verify(user, targets: [target]).results.first).landed
        }
        #expect(try await landed("user9999", .policy("All Staff")))
        #expect(try await landed("many.5000@example.com", .group("escapes")) == false)
        #expect(try await service.verify("many.5000@example.com", targets: [.group("everyone")]).user?.username == "many")
        #expect(try await landed("user0001", .group("ouroboros")))
        #expect(try await landed(Self.escaped, .group("escapes")))
        #expect(try await landed(Self.escapedHex, .group("escapes")))
        let explained = try #require(try service.explain("user0001").answer)
        #expect(Set(explained.groups.map(\.name)) == ["everyone", "ouroboros"])
        _ = try service.report()

        // And nothing changed: the next run finds the same directory.
        #expect(try await harness.sync().run.outcome == .noChanges)
    }
}
