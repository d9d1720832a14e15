@testable import LDAPClient
import LDAPTestSupport
import Testing

@Suite("Searching a real slapd", .tags(.slapd))
struct SearchTests {
    static let people = "ou=people,dc=example,dc=com"
    static let allPeople = LDAPFilter.equal("objectClass", "inetOrgPerson").render()

    func limitedSession(_ directory: TestDirectory) async throws -> LDAPSession {
        try await LDAPSession.connect(
            directory.options(),
            credentials: .simple(dn: DirectoryFixture.limitedDN, password: Array(DirectoryFixture.limitedPassword.utf8)))
    }

    @Test("over the server's size limit, an unpaged search fails with size-limit-exceeded")
    func unpagedHitsSizeLimit() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await limitedSession(directory)
        var received = 0
        let error = try await #require(throws: LDAPError.self) {
            for try await event in session.search(LDAPSearchRequest(base: Self.people, filter: Self.allPeople, attributes: ["uid"], pageSize: nil)) {
                if case .entry = event { received += 1 }
            }
        }
        #expect(error.code == .sizeLimitExceeded)
        #expect(error.description.contains("Size limit exceeded (result code 4)"))
        #expect(error.description.contains("search \"\(Self.people)\""))
        #expect(received <= DirectoryFixture.limitedSizeLimit)
    }

    @Test("the same search paged returns every entry, page by page", arguments: [1000, 333])
    func pagedReturnsEverything(pageSize: Int) async throws {
        let directory = try await ClientFixture.directory()
        let session = try await limitedSession(directory)
        let found = try await entries(of: session.search(LDAPSearchRequest(
            base: Self.people, filter: Self.allPeople, attributes: ["uid", "entryUUID"], pageSize: pageSize)))
        #expect(found.count == ClientFixture.peopleCount + 3)
        #expect(Set(found.map(\.dn)).count == found.count)
        let uids = Set(found.compactMap { $0.string("uid") })
        #expect(uids.contains("user0000") && uids.contains("user2599"))
        #expect(found.allSatisfy { $0["entryUUID"].count == 1 })
    }

    @Test("only the requested attributes come back, values as bytes, names case-insensitive")
    func requestedAttributes() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let result = try await session.searchAll(LDAPSearchRequest(
            base: Self.people, filter: LDAPFilter.equal("uid", "user0042").render(), attributes: ["mail", "CN"]))
        let entry = try #require(result.entries.first)
        #expect(result.entries.count == 1)
        #expect(Set(entry.attributes.map { $0.name.lowercased() }) == ["mail", "cn"])
        #expect(entry["MAIL"] == [Array("user0042@example.com".utf8)])
        #expect(entry.string("cn") == "user0042")
        #expect(entry["userPassword"].isEmpty)
    }

    @Test("base, one and sub scopes")
    func scopes() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let base = try await session.searchAll(LDAPSearchRequest(base: ClientFixture.suffix, scope: .base))
        #expect(base.entries.map(\.dn) == [ClientFixture.suffix])
        let one = try await session.searchAll(LDAPSearchRequest(base: ClientFixture.suffix, scope: .one, attributes: ["1.1"]))
        #expect(Set(one.entries.map(\.dn)) == [
            "ou=people,dc=example,dc=com", "ou=groups,dc=example,dc=com", "ou=service,dc=example,dc=com",
        ])
        #expect(one.references.count == 1)
        #expect(one.references.first?.first?.hasPrefix(ClientFixture.referralURL) == true)
    }

    @Test("a continuation reference is reported as a reference, never as an entry")
    func continuationReference() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        var references: [[String]] = []
        var entryDNs: [String] = []
        for try await event in session.search(LDAPSearchRequest(base: ClientFixture.suffix, filter: "(ou=*)", attributes: ["ou"])) {
            switch event {
            case .entry(let entry): entryDNs.append(entry.dn)
            case .reference(let urls): references.append(urls)
            case .intermediate, .done: Issue.record("a search without controls reports no controls")
            }
        }
        #expect(references.count == 1)
        #expect(references.first?.first?.hasPrefix("ldap://other.example.invalid/ou=elsewhere,dc=example,dc=com") == true)
        #expect(!entryDNs.contains { $0.lowercased().contains("elsewhere") })
    }

    @Test("a base below a referral object throws the referral; it is not chased")
    func referralResult() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let error = try await #require(throws: LDAPError.self) {
            _ = try await session.searchAll(LDAPSearchRequest(base: "ou=deeper,ou=elsewhere,dc=example,dc=com"))
        }
        #expect(error.code == .referral)
        #expect(error.referrals.count == 1)
        #expect(error.description.contains("not followed"))
    }

    @Test("a base DN that does not exist throws no-such-object with the matched DN")
    func noSuchBase() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let error = try await #require(throws: LDAPError.self) {
            _ = try await entries(of: session.search(LDAPSearchRequest(base: "ou=peeple,dc=example,dc=com")))
        }
        #expect(error.code == .noSuchObject)
        #expect(error.matchedDN == "dc=example,dc=com")
        #expect(error.description.contains("the deepest existing entry is \"dc=example,dc=com\""))
    }

    @Test("a malformed filter is the server's or the library's error, not an empty result")
    func badFilter() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let error = try await #require(throws: LDAPError.self) {
            _ = try await session.searchAll(LDAPSearchRequest(base: Self.people, filter: "(uid=a"))
        }
        #expect(error.code == .filterError)
    }

    @Test("a search abandoned after a few entries leaves the session usable")
    func abandonEarly() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        var seen = 0
        for try await _ in session.search(LDAPSearchRequest(base: Self.people, filter: Self.allPeople, pageSize: 100)) {
            seen += 1
            if seen == 5 { break }
        }
        #expect(seen == 5)
        #expect(try await Self.everyone(session, pageSize: 500) == ClientFixture.peopleCount + 3)
    }

    /// How many people a fresh paged search on `session` finds: whether it is usable again.
    static func everyone(_ session: LDAPSession, pageSize: Int) async throws -> Int {
        try await entries(of: session.search(LDAPSearchRequest(base: people, filter: allPeople, attributes: ["1.1"], pageSize: pageSize))).count
    }

    @Test("while one page is consumed the next is read ahead, and every entry still comes once, in order")
    func pageReadAhead() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let request = LDAPSearchRequest(base: Self.people, filter: Self.allPeople, attributes: ["uid"], pageSize: 1000)
        let expected = try await entries(of: session.search(request)).map(\.dn)
        #expect(expected.count == ClientFixture.peopleCount + 3)

        var iterator = session.search(request).makeAsyncIterator()
        guard case .entry(let first)? = try await iterator.next() else { Issue.record("no first entry"); return }
        // The consumer holds the first page; the second is already on its way, whole.
        let pending = iterator.pageAhead
        let ahead = try #require(pending, "no page read ahead after the first")
        let second = try #require(try await ahead.value)
        #expect(second.count == 1000)
        guard case .entry(let secondFirst)? = second.first else { Issue.record("the page read ahead starts with \(String(describing: second.first))"); return }
        #expect(secondFirst.dn == expected[1000])
        var dns = [first.dn]
        while let event = try await iterator.next() {
            if case .entry(let entry) = event { dns.append(entry.dn) }
        }
        #expect(dns == expected)
        let left = iterator.pageAhead
        #expect(left == nil, "a page read ahead past the end")
    }

    @Test("a search left early, by a break or by cancelling its task while a page is read ahead, is abandoned")
    func leftEarlyIsAbandoned() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let request = LDAPSearchRequest(base: Self.people, filter: Self.allPeople, attributes: ["uid"], pageSize: 500)
        for try await _ in session.search(request) { break }
        // The reader takes one entry, waits (without a throwing call) until it is cancelled,
        // then reads on: the search itself notices at the end of the page.
        let firstEntry = AsyncStream<Void>.makeStream(), cancelled = AsyncStream<Void>.makeStream()
        let reader = Task {
            var seen = 0
            for try await _ in session.search(request) {
                seen += 1
                if seen == 1 {
                    firstEntry.continuation.yield()
                    for await _ in cancelled.stream { break }
                }
            }
            return seen
        }
        for await _ in firstEntry.stream { break }
        reader.cancel()
        cancelled.continuation.yield()
        await #expect(throws: CancellationError.self) { _ = try await reader.value }
        // Both searches are abandoned once the pages read ahead have come in (bounded wait).
        let deadline = ContinuousClock.now + .seconds(10)
        while await session.openSearches > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await session.openSearches == 0)
        #expect(try await Self.everyone(session, pageSize: 1000) == ClientFixture.peopleCount + 3)
    }

    @Test("a second paged search on a session ends the first: the second is whole, the first fails instead of ending short")
    func secondPagedSearchEndsTheFirst() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let request = LDAPSearchRequest(base: Self.people, filter: Self.allPeople, attributes: ["uid"], pageSize: 500)
        var first = session.search(request).makeAsyncIterator()
        var read = 0
        if case .entry? = try await first.next() { read += 1 }
        let second = try await entries(of: session.search(request))
        #expect(second.count == ClientFixture.peopleCount + 3)
        let error = try await #require(throws: LDAPError.self) {
            while let event = try await first.next() { if case .entry = event { read += 1 } }
        }
        #expect(error.code == .operationsError && error.description.contains("another paged search started on this session"))
        #expect(read >= 1 && read < ClientFixture.peopleCount + 3)
        #expect(await session.openSearches == 0)
    }

    @Test("escaped DNs from the server round-trip and match member values written differently")
    func escapedDNs() async throws {
        let directory = try await ClientFixture.directory()
        let session = try await ClientFixture.serviceSession(directory)
        let group = try #require(try await session.searchAll(LDAPSearchRequest(base: ClientFixture.groupDN, scope: .base, attributes: ["member"])).entries.first)
        let members = try Set(group.strings("member").map(DistinguishedName.init))
        #expect(members.count == 3)
        for expected in [ClientFixture.smithDN, ClientFixture.jurgenDN, ClientFixture.commaHexDN] {
            let wanted = try DistinguishedName(expected)
            #expect(members.contains(wanted), "member values should contain \(expected)")
            // The server's own spelling of the DN parses to the same name, and our rendering
            // of it finds the entry again.
            let found = try await session.searchAll(LDAPSearchRequest(base: wanted.description, scope: .base, attributes: ["cn"]))
            let entry = try #require(found.entries.first)
            let serverDN = try DistinguishedName(entry.dn)
            #expect(serverDN == wanted)
            #expect(try DistinguishedName(serverDN.description) == serverDN)
        }
        let smith = try DistinguishedName(ClientFixture.smithDN)
        #expect(smith.rdns[0].attributes.map(\.value).sorted() == ["Smith, John", "js"])
    }
}
