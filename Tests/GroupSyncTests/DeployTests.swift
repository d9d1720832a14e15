import Foundation
import GroupSync
import LDAPTestSupport
import Testing

/// The deployment files: the systemd unit passes `systemd-analyze verify`, and the
/// configuration beside it parses and uses the paths the unit provides.
@Suite("Deployment files")
struct DeployTests {
    static let unit = ExampleConfigTests.repository.appendingPathComponent("Deploy/systemd/groupsync.service")

    /// `systemd-analyze verify` on the unit, its ExecStart pointed at the built binary (verify
    /// checks that the command exists). Returns its exit code and everything it printed.
    func verify(_ text: String) throws -> (Int32, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-unit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("groupsync.service").path
        try text.replacingOccurrences(of: "/usr/local/bin/groupsync", with: CLITests.binary).write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolveExecutable("systemd-analyze"))
        process.arguments = ["verify", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, printed)
    }

    @Test("the systemd unit passes systemd-analyze verify without a word; a mistyped key would not")
    func systemdUnit() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        let (status, printed) = try verify(text)
        #expect(status == 0 && printed.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(printed)")
        for key in ["DynamicUser=yes", "StateDirectory=groupsync", "RuntimeDirectory=groupsync", "LoadCredential=ldap-password:",
                    "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
                    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "SystemCallFilter=@system-service", "Restart=on-failure"] {
            #expect(text.contains(key), "the unit sets \(key)")
        }
        let (_, mistyped) = try verify(text.replacingOccurrences(of: "ProtectHome=yes", with: "ProtectHome=yes\nProtectHoem=yes"))
        #expect(mistyped.contains("Unknown key 'ProtectHoem'"), "\(mistyped)")
    }

    @Test("the configuration beside the unit parses and names the unit's state, runtime and credential paths")
    func systemdConfig() throws {
        let text = try String(contentsOf: ExampleConfigTests.repository.appendingPathComponent("Deploy/systemd/groupsync.yaml"), encoding: .utf8)
        #expect(text.contains("/var/lib/groupsync/") && text.contains("/run/groupsync/") && text.contains("/run/credentials/groupsync.service/ldap-password"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-unit-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in ["ca.pem", "ldap-password"] { try Data("x\n".utf8).write(to: folder.appendingPathComponent(file)) }
        let local = text.replacingOccurrences(of: "/etc/groupsync/ca.pem", with: folder.appendingPathComponent("ca.pem").path)
            .replacingOccurrences(of: "/run/credentials/groupsync.service/ldap-password", with: folder.appendingPathComponent("ldap-password").path)
        let config = try ConfigLoader.parse(local, file: folder.appendingPathComponent("groupsync.yaml").path)
        #expect(config.store.path == "/var/lib/groupsync/groupsync.sqlite")
        #expect(config.controlSocket == "/run/groupsync/groupsync.sock")
    }
}
