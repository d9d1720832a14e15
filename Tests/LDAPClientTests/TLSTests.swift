import LDAPClient
import LDAPTestSupport
import Testing

@Suite("LDAPS and StartTLS against a real slapd", .tags(.slapd))
struct TLSTests {
    func connect(_ options: LDAPConnectionOptions) async throws -> String {
        let session = try await LDAPSession.connect(
            options, credentials: .simple(dn: DirectoryFixture.serviceDN, password: Array(DirectoryFixture.servicePassword.utf8)))
        return try await session.whoAmI()
    }

    @Test("LDAPS and StartTLS succeed with the fixture's CA file", arguments: [false, true])
    func withCA(startTLS: Bool) async throws {
        let directory = try await ClientFixture.directory()
        let url = startTLS ? directory.ldapURL : directory.ldapsURL
        #expect(try await connect(directory.options(url: url, startTLS: startTLS)) == "dn:\(DirectoryFixture.serviceDN)")
    }

    @Test("without the CA, the certificate is refused with a certificate error", arguments: [false, true])
    func withoutCA(startTLS: Bool) async throws {
        let directory = try await ClientFixture.directory()
        let url = startTLS ? directory.ldapURL : directory.ldapsURL
        let error = try await #require(throws: LDAPError.self) {
            _ = try await connect(directory.options(url: url, startTLS: startTLS, tls: TLSOptions()))
        }
        #expect(error.isTLSFailure, "\(error)")
        #expect(error.description.contains("cannot connect to \(url)"))
        #expect(error.description.contains("certificate was not accepted"))
    }

    @Test("turning verification off explicitly lets the connection through", arguments: [false, true])
    func verificationOff(startTLS: Bool) async throws {
        let directory = try await ClientFixture.directory()
        let url = startTLS ? directory.ldapURL : directory.ldapsURL
        #expect(try await connect(directory.options(url: url, startTLS: startTLS, tls: TLSOptions(verify: false))) == "dn:\(DirectoryFixture.serviceDN)")
    }

    @Test("a host name the certificate does not name is refused even with the right CA")
    func wrongHostName() async throws {
        let directory = try await ClientFixture.directory()
        let error = try await #require(throws: LDAPError.self) {
            _ = try await connect(directory.options(url: directory.ldapsURLWithWrongName))
        }
        #expect(error.isTLSFailure, "\(error)")
    }

    @Test("each connection has its own TLS context: one CA does not leak into another connection")
    func separateContexts() async throws {
        let first = try await ClientFixture.directory()
        let second = try await TestDirectory.start(.people(1))
        #expect(first.caFile != second.caFile)
        #expect(try await connect(first.options(url: first.ldapsURL)) == "dn:\(DirectoryFixture.serviceDN)")
        // The first server's CA does not vouch for the second server…
        let error = try await #require(throws: LDAPError.self) {
            _ = try await connect(second.options(url: second.ldapsURL, tls: TLSOptions(caFile: first.caFile)))
        }
        #expect(error.isTLSFailure, "\(error)")
        // …the second's own CA does, and the first connection's settings are unaffected.
        #expect(try await connect(second.options(url: second.ldapsURL)) == "dn:\(DirectoryFixture.serviceDN)")
        #expect(try await connect(first.options(url: first.ldapsURL)) == "dn:\(DirectoryFixture.serviceDN)")
    }
}
