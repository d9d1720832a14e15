import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import SyncStore
import Testing

/// TLS is verified unless the configuration says otherwise: a server whose certificate
/// the system does not trust, or that names another host, fails the run and the store
/// keeps what it had.
@Suite("TLS verification is on by default", .tags(.slapd))
struct TLSDefaultsTests {
    static func run(_ harness: SyncHarness, replacing: [(String, String)]) async throws -> RunReport {
        var text = try String(contentsOfFile: harness.configPath, encoding: .utf8)
        for (old, new) in replacing {
            #expect(text.contains(old), "\(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        let config = try ConfigLoader.parse(text, file: harness.configPath)
        let reports = try await SyncRunner(config: config, store: harness.store, logger: quietLogger).run(SyncRequest())
        return try #require(reports.first)
    }

    @Test("no tls key: the test CA is not trusted, LDAPS and StartTLS fail; another host name fails even with the CA")
    func verificationByDefault() async throws {
        let harness = try await SyncHarness(fixture: SyncFixture.standard)
        try await harness.sync()
        let before = try harness.snapshot()
        let caLines = "    tls:\n      ca_file: \(harness.directory.caFile)\n"
        let startTLS = try await Self.run(harness, replacing: [(caLines, "")])
        let ldaps = try await Self.run(harness, replacing: [(caLines, ""), ("    start_tls: true\n", ""), (harness.directory.ldapURL, harness.directory.ldapsURL)])
        let wrongName = try await Self.run(harness, replacing: [("    start_tls: true\n", ""), (harness.directory.ldapURL, harness.directory.ldapsURLWithWrongName)])
        for (name, report) in [("StartTLS", startTLS), ("LDAPS", ldaps), ("wrong name", wrongName)] {
            #expect(report.run.outcome == .failed, "\(name): \(report.run.outcome)")
            let message = report.run.message ?? ""
            #expect(message.lowercased().contains("certificate") || message.contains("TLS"), "\(name): \(message)")
        }
        #expect(try harness.snapshot() == before)
    }
}
