import Foundation
import LDAPClient
import LDAPTestSupport
import Testing

@Suite("Server failures during a search", .tags(.slapd))
struct ServerFailureTests {
    @Test("the server stopped in the middle of a paged search makes the search throw")
    func stoppedMidSearch() async throws {
        let directory = try await TestDirectory.start(.people(2500))
        let session = try await LDAPSession.connect(directory.options())
        var received = 0
        let error = try await #require(throws: LDAPError.self) {
            for try await event in session.search(LDAPSearchRequest(base: "ou=people,dc=example,dc=com", attributes: ["uid"], pageSize: 200)) {
                guard case .entry = event else { continue }
                received += 1
                if received == 300 { await directory.stop() }
            }
        }
        #expect(received >= 300 && received < 2500)
        #expect(error.code.isConnectionFailure, "\(error)")
        #expect(error.description.contains("search \"ou=people,dc=example,dc=com\""))
    }

    @Test("a server killed outright (SIGKILL) mid-search makes the search throw too")
    func killedMidSearch() async throws {
        let directory = try await TestDirectory.start(.people(2500))
        let session = try await LDAPSession.connect(directory.options())
        var received = 0
        await #expect(throws: LDAPError.self) {
            for try await event in session.search(LDAPSearchRequest(base: "ou=people,dc=example,dc=com", pageSize: 100)) {
                guard case .entry = event else { continue }
                received += 1
                if received == 150 { await directory.kill(SIGKILL) }
            }
        }
        #expect(received < 2500)
        // A new session after a restart works again.
        try await directory.restart()
        let again = try await LDAPSession.connect(directory.options())
        #expect(try await again.searchAll(LDAPSearchRequest(base: "ou=people,dc=example,dc=com", scope: .one, attributes: ["1.1"])).entries.count == 2500)
    }

    @Test("a stalled server (SIGSTOP) fails the search within the operation timeout")
    func stalledServer() async throws {
        let directory = try await TestDirectory.start(.people(10))
        let session = try await LDAPSession.connect(directory.options(timeout: .seconds(1)))
        await directory.kill(SIGSTOP)
        let started = ContinuousClock.now
        let error = try await #require(throws: LDAPError.self) {
            _ = try await session.searchAll(LDAPSearchRequest(base: "ou=people,dc=example,dc=com"))
        }
        #expect(error.code == .timeout)
        // Within the timeout, not hanging (a wide margin: tests run in parallel on 2 cores).
        #expect(ContinuousClock.now - started < .seconds(20))
        await directory.kill(SIGCONT)
    }
}
