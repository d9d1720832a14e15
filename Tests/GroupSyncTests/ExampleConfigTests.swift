import Foundation
import GroupSync
import Testing
import Verification

@Suite("The documented example configurations")
struct ExampleConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("Config/openldap.yaml parses once its files exist, and means what its comments say")
    func openldap() throws {
        var text = try String(contentsOf: Self.repository.appendingPathComponent("Config/openldap.yaml"), encoding: .utf8)
        // Point the files it names at ones that exist here.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-example-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["ca.pem", "ldap-password"] { try Data("x\n".utf8).write(to: folder.appendingPathComponent(name)) }
        text = text.replacingOccurrences(of: "/etc/groupsync/ca.pem", with: folder.appendingPathComponent("ca.pem").path)
            .replacingOccurrences(of: "/run/secrets/ldap-password", with: folder.appendingPathComponent("ldap-password").path)
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
        var text = try String(contentsOf: Self.repository.appendingPathComponent("Config/activedirectory.yaml"), encoding: .utf8)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-example-ad-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["ca.pem", "ldap-password"] { try Data("x\n".utf8).write(to: folder.appendingPathComponent(name)) }
        text = text.replacingOccurrences(of: "/etc/groupsync/ca.pem", with: folder.appendingPathComponent("ca.pem").path)
            .replacingOccurrences(of: "/run/secrets/ldap-password", with: folder.appendingPathComponent("ldap-password").path)
        let config = try ConfigLoader.parse(text, file: folder.appendingPathComponent("groupsync.yaml").path)
        let corp = try #require(config.directories.first)
        #expect(corp.flavour == .activedirectory)
        #expect(corp.mapping == corp.attributes.applied(to: .activeDirectory))
        #expect(corp.attributes.applied(to: .activeDirectory) == .activeDirectory, "the documented attributes are the defaults")
        #expect(corp.effective(for: .activeDirectory).groups.filter == "(objectClass=group)")
        #expect(corp.effective(for: .activeDirectory).users.filter.contains("(mail=*)"))
    }
}
