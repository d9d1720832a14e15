import Foundation
@testable import LDAPClient
import LDAPTestSupport
import Testing

@Suite("Connecting and binding to a real slapd", .tags(.slapd))
struct ConnectionTests {
    @Test("a simple bind with the right password works and the server knows who we are")
    func bindWorks() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        #expect(try await session.whoAmI() == "dn:\(DirectoryFixture.serviceDN)")
    }

    @Test("a wrong password fails with result code 49, naming the bind DN")
    func wrongPassword() async throws {
        let directory = try await ClientFixture.directory()
        let error = try await #require(throws: LDAPError.self) {
            _ = try await LDAPSession.connect(
                directory.options(), credentials: .simple(dn: DirectoryFixture.serviceDN, password: Array("nope".utf8)))
        }
        #expect(error.code == .invalidCredentials)
        #expect(error.code.rawValue == 49)
        #expect(error.description.contains("bind as \"\(DirectoryFixture.serviceDN)\" failed: Invalid credentials (result code 49)"))
        #expect(!error.description.contains("nope"))
    }

    @Test("the server's own diagnostic message is kept")
    func serverDiagnostic() async throws {
        let directory = try await ClientFixture.directory()
        let error = try await #require(throws: LDAPError.self) {
            _ = try await LDAPSession.connect(
                directory.options(), credentials: .simple(dn: DirectoryFixture.serviceDN, password: []))
        }
        #expect(error.code == .unwillingToPerform)
        #expect(error.diagnosticMessage == "unauthenticated bind (DN with no password) disallowed")
        #expect(error.description.contains("unauthenticated bind (DN with no password) disallowed"))
    }

    @Test("anonymous bind is anonymous")
    func anonymous() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await LDAPSession.connect(directory.options())
        #expect(try await session.whoAmI() == "")
    }

    @Test("SASL EXTERNAL over ldapi:// authenticates as the peer's uid and gid")
    func saslExternal() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await LDAPSession.connect(directory.options(url: directory.ldapiURL), credentials: .saslExternal)
        #expect(try await session.whoAmI() == "dn:gidNumber=\(getgid())+uidNumber=\(getuid()),cn=peercred,cn=external,cn=auth")
    }

    @Test("an unreachable URL fails at once with a clear \"cannot connect to …\" error")
    func unreachable() async throws {
        let port = try freeLoopbackPort()
        let url = "ldap://127.0.0.1:\(port)"
        let options = LDAPConnectionOptions(url: url, connectTimeout: .seconds(60))
        let error = try await #require(throws: LDAPError.self) { _ = try await LDAPSession.connect(options) }
        #expect(error.code == .serverDown)
        #expect(error.description.hasPrefix("cannot connect to \(url): Can't contact LDAP server"))
        // Refused at once, not after the 60-second connect timeout.
        let (result, elapsed) = try await Self.timedOnOwnThread { try LDAPConnection(options: options).connect() }
        #expect(throws: LDAPError.self) { try result.get() }
        #expect(elapsed < .seconds(10))
    }

    @Test("a server that accepts but never answers fails within the operation timeout")
    func silentServer() async throws {
        let listener = try SilentListener()
        let options = LDAPConnectionOptions(url: "ldap://127.0.0.1:\(listener.port)", connectTimeout: .seconds(1), operationTimeout: .seconds(1))
        let credentials = LDAPCredentials.simple(dn: "cn=x", password: Array("y".utf8))
        let error = try await #require(throws: LDAPError.self) { _ = try await LDAPSession.connect(options, credentials: credentials) }
        #expect(error.code == .timeout)
        #expect(error.description.contains("no answer from ldap://127.0.0.1:\(listener.port) within 1s"))
        // It waited for the timeout, and did not hang.
        let (result, elapsed) = try await Self.timedOnOwnThread {
            let connection = try LDAPConnection(options: options)
            try connection.connect()
            try connection.bind(credentials)
        }
        #expect(throws: LDAPError.self) { try result.get() }
        #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(10))
    }

    /// `body` run on a thread of its own, with how long it took there. A time taken around an
    /// `await` also counts the wait for a thread of Swift's cooperative pool, which other
    /// tests' work holds for many seconds at a time on two cores (a full run once measured
    /// 25 s around a refused connect).
    static func timedOnOwnThread(_ body: @escaping @Sendable () throws -> Void) async throws -> (Result<Void, any Error>, Duration) {
        try await offThePool {
            let started = ContinuousClock.now
            let result = Result { try body() }
            return (result, ContinuousClock.now - started)
        }
    }

    @Test("a malformed URL is rejected with what was expected")
    func badURL() async throws {
        let error = try await #require(throws: LDAPError.self) {
            _ = try await LDAPSession.connect(LDAPConnectionOptions(url: "http://example.com"))
        }
        #expect(error.description.contains("parse LDAP URL \"http://example.com\""))
    }

    @Test("the root DSE identifies OpenLDAP and its capabilities")
    func rootDSE() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await LDAPSession.connect(directory.options())
        let dse = try await session.rootDSE()
        #expect(dse.flavour == .openLDAP)
        // The directory's suffix, then the accesslog overlay's database the test slapd has.
        #expect(dse.namingContexts == [ClientFixture.suffix, "cn=accesslog"])
        #expect(dse.supportsPagedResults)
        #expect(dse.supportsStartTLS)
        #expect(dse.supportedLDAPVersions.contains("3"))
        #expect(dse.supportsContentSynchronization, "the test directory has the syncprov overlay")
    }

    @Test("a closed session refuses further work")
    func closed() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await LDAPSession.connect(directory.options())
        await session.close()
        let error = try await #require(throws: LDAPError.self) { _ = try await session.whoAmI() }
        #expect(error.description.contains("the session is closed"))
    }
}

/// A TCP listener on loopback that completes handshakes (the kernel does) but never reads
/// or answers: a hung server.
final class SilentListener: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
