import Foundation
import GroupSync
import SyncConfig
import Testing
import Verification

@Suite("Configuration: profile groups, relay profiles, policies, intents, server")
struct PolicyConfigTests {
    static let policies = """

        profile_groups:
          - name: Permitted Senders - Finance
            members:
              - group: cn=finance,ou=groups,dc=example,dc=com
              - user: carol@example.com
              - address: cfo-assistant@partner.example
              - domain: trusted-supplier.example
              - profile_group: Board
          - name: Board
            members:
              - group: board
        relay_profiles:
          - name: Allowed Relay
            domains: [partner.example, subsidiary.example]
            senders:
              - group: cn=relay-senders,ou=groups,dc=example,dc=com
        policies:
          - name: Permitted Senders - Finance
            type: permitted-senders
            applies_to: recipients
            targets:
              - profile_group: Permitted Senders - Finance
              - group: cn=managers,ou=groups,dc=example,dc=com
          - name: Scan Everyone
            type: spam-scanning
            everyone: true
        intents:
          - name: Finance onboarding
            users: [alice@example.com, bob]
            expect:
              - policy: Permitted Senders - Finance
              - group: cn=finance,ou=groups,dc=example,dc=com
          - name: Board members
            group: board
            expect:
              - profile_group: Board
        server:
          socket: var/groupsync.sock
        """

    static var text: String { ConfigLoaderTests.valid + Self.policies }

    @Test("every section parses into the policy set")
    func valid() throws {
        let config = try ConfigLoader.parse(Self.text, file: ConfigLoaderTests.file)
        let set = config.policies
        #expect(set.profileGroups.map(\.name) == ["Permitted Senders - Finance", "Board"])
        #expect(set.profileGroups[0].members == [
            .group("cn=finance,ou=groups,dc=example,dc=com"), .user("carol@example.com"), .address("cfo-assistant@partner.example"),
            .domain("trusted-supplier.example"), .profileGroup("Board"),
        ])
        #expect(set.relayProfiles.first?.domains == ["partner.example", "subsidiary.example"])
        #expect(set.policies[0].type == .permittedSenders && set.policies[0].appliesTo == .recipients && !set.policies[0].everyone)
        #expect(set.policies[1].everyone && set.policies[1].appliesTo == .both)
        #expect(set.intents[0].selector == .users(["alice@example.com", "bob"]))
        #expect(set.intents[1].expect == [.profileGroup("Board")])
        #expect(config.server.socket?.hasSuffix("/var/groupsync.sock") == true)
        #expect(config.text == Self.text)
    }

    @Test(
        "broken references and values are errors that name the line",
        arguments: [
            ("type: permitted-senders", "type: allowed-senders", "unknown policy type \"allowed-senders\""),
            ("- profile_group: Board", "- profile_group: Bored", "profile group \"Bored\", which is not defined"),
            ("- policy: Permitted Senders - Finance", "- policy: Permited", "expects policy \"Permited\", which is not defined"),
            ("- group: board\n", "- profile_group: Permitted Senders - Finance\n", "profile groups contain each other"),
            ("- address: cfo-assistant@partner.example", "- address: cfo-assistant", "is not an address"),
            ("applies_to: recipients", "applies_to: inbound", "expected senders, recipients or both"),
            ("everyone: true", "everyone: true\n    targets:\n      - group: x", "either everyone: true or targets"),
            ("users: [alice@example.com, bob]", "users: [alice]\n    group: board", "exactly one of users, group or filter"),
            ("- group: board\n", "- group: board\n        user: x\n", "exactly one of group, user"),
        ])
    func mistakes(original: String, replacement: String, message: String) throws {
        let text = Self.text.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.text)
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(text, file: ConfigLoaderTests.file) }
        #expect(error.message.contains(message), "\(error)")
        #expect(error.line != nil)
    }

    @Test("a TCP listener needs a token file")
    func server() throws {
        let text = Self.text.replacingOccurrences(of: "  socket: var/groupsync.sock", with: "  listen: 127.0.0.1:8470")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(text, file: ConfigLoaderTests.file) }
        #expect(error.keyPath == "server.listen")
    }
}
