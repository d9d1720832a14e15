import LDAPClient
import LDAPTestSupport
import Testing

extension Tag {
    /// Tests that start and talk to a real slapd.
    @Tag static var slapd: Self
}

/// The directory most client tests share: 2,600 people (more than the limited account's
/// size limit of 1,000), names that need escaping, a group whose member values are written
/// in another case and escaping, and a referral object.
enum ClientFixture {
    static let peopleCount = 2600
    static let suffix = "dc=example,dc=com"
    static let smithDN = #"cn=Smith\, John+uid=js,ou=people,dc=example,dc=com"#
    static let jurgenDN = "cn=Jürgen Müller,ou=people,dc=example,dc=com"
    static let commaHexDN = #"cn=Acme\2C Inc.,ou=people,dc=example,dc=com"#
    static let groupDN = "cn=escaped-members,ou=groups,dc=example,dc=com"
    static let referralURL = "ldap://other.example.invalid/ou=elsewhere,dc=example,dc=com"

    static var fixture: DirectoryFixture {
        var entries = DirectoryFixture.people(peopleCount).entries
        entries += [
            LDIFEntry(dn: smithDN, [
                ("objectClass", "inetOrgPerson"), ("cn", "Smith, John"), ("uid", "js"), ("sn", "Smith"),
            ]),
            LDIFEntry(dn: jurgenDN, [("objectClass", "inetOrgPerson"), ("cn", "Jürgen Müller"), ("sn", "Müller")]),
            LDIFEntry(dn: commaHexDN, [("objectClass", "inetOrgPerson"), ("cn", "Acme, Inc."), ("sn", "Acme")]),
            LDIFEntry(dn: groupDN, [
                ("objectClass", "groupOfNames"), ("cn", "escaped-members"),
                ("member", #"UID=JS+CN=SMITH\2C JOHN,OU=People,DC=Example,DC=COM"#),
                ("member", #"cn=J\C3\BCrgen M\C3\BCller,ou=people,dc=example,dc=com"#),
                ("member", #"CN=acme\, inc.,ou=PEOPLE,dc=example,dc=com"#),
            ]),
            LDIFEntry(dn: "ou=elsewhere,dc=example,dc=com", [
                ("objectClass", "referral"), ("objectClass", "extensibleObject"), ("ou", "elsewhere"),
                ("ref", referralURL),
            ]),
        ]
        return DirectoryFixture(entries: entries)
    }

    private static let shared = SharedDirectory { try await TestDirectory.start(fixture) }

    static func directory() async throws -> TestDirectory { try await shared.get() }

    static func serviceSession(_ directory: TestDirectory) async throws -> LDAPSession {
        try await LDAPSession.connect(
            directory.options(),
            credentials: .simple(dn: DirectoryFixture.serviceDN, password: Array(DirectoryFixture.servicePassword.utf8)))
    }
}

/// One server started on first use and shared by the tests of a suite.
actor SharedDirectory {
    private let start: @Sendable () async throws -> TestDirectory
    private var task: Task<TestDirectory, any Error>?

    init(_ start: @escaping @Sendable () async throws -> TestDirectory) { self.start = start }

    func get() async throws -> TestDirectory {
        if let task { return try await task.value }
        let task = Task { try await start() }
        self.task = task
        return try await task.value
    }
}

/// Collects every entry of a search, failing on references.
func entries(of sequence: LDAPSearchSequence) async throws -> [LDAPEntry] {
    var entries: [LDAPEntry] = []
    for try await event in sequence {
        guard case .entry(let entry) = event else { Issue.record("unexpected \(event)"); continue }
        entries.append(entry)
    }
    return entries
}
