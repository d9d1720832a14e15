// Exercises every LDAPClient path that allocates in libldap — connect, bind (good and bad),
// LDAPS, paged searches over 10,000 entries, an unpaged search stopped by a size limit, a
// referral, an abandoned search — so that valgrind can show that none of it leaks.
// Run with `make leakcheck` (see the README).
import Foundation
import LDAPClient
import LDAPTestSupport

let entryCount = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 10_000
let directory = try await TestDirectory.start(.people(entryCount))
let people = "ou=people,dc=example,dc=com"
let service = LDAPCredentials.simple(dn: DirectoryFixture.serviceDN, password: Array(DirectoryFixture.servicePassword.utf8))

do {
    let session = try await LDAPSession.connect(directory.options(url: directory.ldapsURL), credentials: service)
    for _ in 0..<2 {
        var count = 0
        for try await event in session.search(LDAPSearchRequest(base: people, scope: .one, pageSize: 1000)) {
            if case .entry = event { count += 1 }
        }
        precondition(count == entryCount, "expected \(entryCount) entries, got \(count)")
    }
    _ = try await session.rootDSE()
    _ = try await session.whoAmI()
    var seen = 0
    for try await _ in session.search(LDAPSearchRequest(base: people, pageSize: 100)) {
        seen += 1
        if seen == 10 { break }
    }
    await session.close()
}

let limited = try await LDAPSession.connect(
    directory.options(), credentials: .simple(dn: DirectoryFixture.limitedDN, password: Array(DirectoryFixture.limitedPassword.utf8)))
do {
    _ = try await limited.searchAll(LDAPSearchRequest(base: people, pageSize: nil))
    fatalError("the size limit should have stopped the search")
} catch let error as LDAPError where error.code == .sizeLimitExceeded {}
do {
    _ = try await limited.searchAll(LDAPSearchRequest(base: "ou=nowhere,dc=example,dc=com"))
} catch let error as LDAPError where error.code == .noSuchObject {}
do {
    _ = try await LDAPSession.connect(directory.options(), credentials: .simple(dn: DirectoryFixture.serviceDN, password: Array("wrong".utf8)))
} catch let error as LDAPError where error.code == .invalidCredentials {}
do {
    _ = try await LDAPSession.connect(directory.options(url: directory.ldapsURL, tls: TLSOptions()))
} catch let error as LDAPError where error.isTLSFailure {}

await directory.stop()
print("leakcheck: exercised \(entryCount) entries")
