import Foundation
import LDAPTestSupport
import GroupSync
import SyncConfig
import Testing
import Verification

@Suite("The documented example configurations")
struct ExampleConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// An example's text with the files it names pointed at ones that exist, in a new folder.
    static func example(_ name: String) throws -> (String, URL) {
        let text = try String(contentsOf: repository.appendingPathComponent("Config/\(name)"), encoding: .utf8)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-example-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in ["ca.pem", "ldap-password"] { try writeSecret("x\n", to: folder.appendingPathComponent(file)) }
        return (
            text.replacingOccurrences(of: "/etc/groupsync/ca.pem", with: folder.appendingPathComponent("ca.pem").path)
                .replacingOccurrences(of: "/run/secrets/ldap-password", with: folder.appendingPathComponent("ldap-password").path),
            folder
        )
    }

    @Test("Config/openldap.yaml parses once its files exist, and means what its comments say")
    func openldap() throws {
        let (text, folder) = try Self.example("openldap.yaml")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try ConfigLoader.parse(text, file: folder.appendingPathComponent("groupsync.yaml").path)
        let corp = try #require(config.directories.first)
        #expect(corp.tls.verify)
        #expect(corp.pageSize == 1000)
        #expect(corp.limits == .default)
        #expect(corp.attributes.member == ["member", "uniqueMember"])
        #expect(corp.schedule?.every == .seconds(1800))
        #expect(corp.schedule?.retries == 5 && corp.schedule?.retryAfter == .seconds(30))
        #expect(config.server.socket?.hasSuffix("var/groupsync.sock") == true)
        #expect(config.server.readinessGrace == .seconds(3600))
        #expect(corp.attributes.applied(to: .openLDAP).changeMarker == "entryCSN")
        let policies = config.policies
        #expect(policies.profileGroups.map(\.name) == ["Permitted Senders - Finance", "Board"])
        #expect(policies.profileGroups[0].members.count == 5)
        #expect(policies.relayProfiles.first?.domains == ["partner.example", "subsidiary.example"])
        #expect(policies.policies.map(\.type) == [.permittedSenders, .blockedSenders, .spamScanning])
        #expect(policies.policies[2].everyone)
        #expect(policies.intents.first?.expect.count == 2)
        let off = try ConfigLoader.parse(text.replacingOccurrences(of: "change_marker: entryCSN", with: "change_marker: \"\""), file: folder.appendingPathComponent("groupsync.yaml").path)
        #expect(off.directories[0].attributes.applied(to: .openLDAP).changeMarker == nil)
    }

    @Test("Config/activedirectory.yaml parses, and its attributes are the AD defaults")
    func activeDirectory() throws {
        let (text, folder) = try Self.example("activedirectory.yaml")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try ConfigLoader.parse(text, file: folder.appendingPathComponent("groupsync.yaml").path)
        let corp = try #require(config.directories.first)
        #expect(corp.flavour == .activedirectory)
        #expect(corp.mapping == corp.attributes.applied(to: .activeDirectory))
        #expect(corp.attributes.applied(to: .activeDirectory) == .activeDirectory, "the documented attributes are the defaults")
        #expect(corp.effective(for: .activeDirectory).groups.filter == "(objectClass=group)")
        #expect(corp.effective(for: .activeDirectory).users.filter.contains("(mail=*)"))
    }
}
