import Foundation
import GroupSync
import LDAPTestSupport
import Testing
import Verification

/// A directory and a configuration that produce every verification answer: a three-level
/// nested path, aliases, a disabled user, an empty and a doomed group, conflicting policies.
enum VerificationFixture {
    static let people = "ou=people,dc=example,dc=com"

    static func dn(_ uid: String) -> String { "uid=\(uid),\(people)" }
    static func group(_ cn: String) -> String { "cn=\(cn),ou=groups,dc=example,dc=com" }

    static var directory: DirectoryFixture {
        var entries = DirectoryFixture.skeleton()
        entries.append(DirectoryFixture.person("alice", name: "Alice Archer", extra: [
            ("objectClass", "mailAliases"), ("mailAlternateAddress", "a.archer@example.com"),
            ("proxyAddresses", "smtp:alice.alias@example.com"), ("proxyAddresses", "X500:/o=Example/cn=alice"),
        ]))
        entries += [
            DirectoryFixture.person("bob", name: "Bob Baker"),
            DirectoryFixture.person("carol", name: "Carol Clark"),
            DirectoryFixture.person("dave", name: "Dave Dunn", extra: [("employeeType", "disabled")]),
            LDIFEntry(dn: #"cn=Smith\, John+uid=js,ou=people,dc=example,dc=com"#, [
                ("objectClass", "inetOrgPerson"), ("cn", "Smith, John"), ("uid", "js"), ("sn", "Smith"), ("mail", "js@example.com"),
            ]),
            DirectoryFixture.group("finance", members: [dn("alice"), dn("bob")]),
            DirectoryFixture.group("all-finance", members: [group("finance")]),
            DirectoryFixture.group("permitted-senders-finance", members: [group("all-finance")]),
            DirectoryFixture.group("contractors", members: [dn("alice"), dn("carol")]),
            DirectoryFixture.group("sales", members: [dn("carol"), dn("dave"), #"cn=Smith\, John+uid=js,ou=people,dc=example,dc=com"#]),
            DirectoryFixture.group("legacy", members: [dn("carol")]),
            // groupOfNames needs a member: one that is nobody leaves the group empty.
            DirectoryFixture.group("empty", members: ["cn=nobody,dc=example,dc=com"]),
        ]
        return DirectoryFixture(entries: entries)
    }

    static let directoryKeys = """
            attributes:
              disabled: employeeType
              aliases: [mailAlternateAddress, proxyAddresses]
            schedule:
              every: 30m

        """

    static let policies = """
        profile_groups:
          - name: PS Finance
            members:
              - group: cn=permitted-senders-finance,ou=groups,dc=example,dc=com
          - name: Partners
            members:
              - domain: partner.example
        relay_profiles:
          - name: Finance Relay
            domains: [partner.example]
            senders:
              - group: finance
        policies:
          - name: Permitted Finance
            type: permitted-senders
            applies_to: recipients
            targets:
              - profile_group: PS Finance
          - name: Blocked Contractors
            type: blocked-senders
            applies_to: both
            targets:
              - group: contractors
          - name: Ghost Policy
            type: spam-scanning
            targets:
              - user: ghost.user
          - name: Legacy Policy
            type: anti-spoofing-bypass
            targets:
              - group: cn=legacy,ou=groups,dc=example,dc=com
          - name: Empty Policy
            type: content-examination-bypass
            targets:
              - group: empty
          - name: Examine All
            type: content-examination
        intents:
          - name: Finance onboarding
            users: [alice, bob, frank]
            expect:
              - policy: Permitted Finance
          - name: Sales on legacy
            group: sales
            expect:
              - policy: Legacy Policy
          - name: Sales by filter
            filter: (uid=carol)
            expect:
              - group: sales

        """

    static func harness(backend: SyncHarness.Backend = .sqlite) async throws -> SyncHarness {
        try await SyncHarness(
            fixture: directory, limits: ["max_group_deletions": "100%", "max_membership_deletions": "100%"],
            directoryExtra: directoryKeys, extra: policies, backend: backend)
    }
}

extension SyncHarness {
    func service(now: Date = Date()) throws -> VerificationService {
        try VerificationService(config: config, store: store, logger: quietLogger, now: { now })
    }

    func verify(_ user: String, _ targets: [Target], live: Bool = false) async throws -> VerifyAnswer {
        try await service().verify(user, targets: targets, live: live)
    }

    /// A sync as `groupsync sync` runs it: the runs, then the landing report.
    @discardableResult
    func syncAndReport() async throws -> ReportAnswer {
        let runner = SyncRunner(config: config, store: store, logger: quietLogger)
        let reports = try await runner.run(SyncRequest())
        guard case .success(let report) = try #require(await runner.evaluateLandings(after: reports)) else {
            Issue.record("landing report failed")
            throw CancellationError()
        }
        return report
    }
}
