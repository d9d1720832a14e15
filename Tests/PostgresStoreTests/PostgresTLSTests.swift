import Foundation
import LDAPTestSupport
import PostgresNIO
import PostgresStore
import SyncConfig
import Testing

/// `tls.mode` against a server that offers TLS with a certificate from a throwaway CA.
@Suite("PostgreSQL over TLS")
struct PostgresTLSTests {
    @Test("verify-full with the CA connects encrypted; without it the certificate is refused; require skips the check")
    func modes() async throws {
        let server = try await TestPostgres.start(tls: true)
        let certificates = try #require(server.certificates)
        let passwordFile = server.folder.appendingPathComponent("client-password")
        try writeSecret(server.password + "\n", to: passwordFile)
        func settings(_ mode: PostgresSettings.TLSMode, caFile: String? = nil) throws -> PostgresSettings {
            try PostgresSettings(url: server.url, passwordFile: passwordFile.path, tls: .init(mode: mode, caFile: caFile))
        }
        let verified = try settings(.verifyFull, caFile: certificates.caFile)
        let unverified = try settings(.require)
        let systemRoots = try settings(.verifyFull)
        let missingCA = try settings(.verifyFull, caFile: server.folder.appendingPathComponent("no-such-ca.pem").path)
        try await blocking { () throws -> Void in
            func encrypted(_ session: PostgresSession) throws -> Bool {
                try session.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first!.decode(Bool.self)
            }
            #expect(try encrypted(try PostgresSession.connect(verified)))
            #expect(try encrypted(try PostgresSession.connect(unverified)))
            do {
                _ = try PostgresSession.connect(systemRoots)
                Issue.record("a certificate from an unknown CA was accepted")
            } catch {
                #expect("\(error)".contains("127.0.0.1:\(server.port)"))
                #expect("\(error)".contains("TLS certificate was refused"), "\(error)")
                #expect("\(error)".contains("tls.ca_file"))
            }
            do {
                _ = try PostgresSession.connect(missingCA)
                Issue.record("connected with an unreadable CA file")
            } catch {
                #expect("\(error)".contains("tls.ca_file"))
            }
        }
    }
}
