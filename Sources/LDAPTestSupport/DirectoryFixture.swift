import Foundation

/// The content a throwaway directory starts with: the suffix, the accounts tests bind as,
/// and the entries loaded with `slapadd -q` before the server starts.
public struct DirectoryFixture: Sendable {
    public var suffix: String
    public var entries: [LDIFEntry]
    /// An LDIF file loaded after ``entries`` (for data too large to hold as values).
    public var ldifFile: String?
    /// Whether the server offers RFC 4533 content synchronization (the `syncprov` overlay).
    public var syncProvider = true

    public init(suffix: String = "dc=example,dc=com", entries: [LDIFEntry], ldifFile: String? = nil, syncProvider: Bool = true) {
        self.syncProvider = syncProvider
        self.suffix = suffix
        self.entries = entries
        self.ldifFile = ldifFile
    }

    public static let adminDN = "cn=admin,dc=example,dc=com"
    public static let adminPassword = "admin-secret"
    /// An ordinary read-only service account, as groupsync would bind.
    public static let serviceDN = "cn=groupsync,ou=service,dc=example,dc=com"
    public static let servicePassword = "groupsync-secret"
    /// A service account the server holds to ``limitedSizeLimit`` entries per unpaged search.
    public static let limitedDN = "cn=limited,ou=service,dc=example,dc=com"
    public static let limitedPassword = "limited-secret"
    public static let limitedSizeLimit = 1000

    /// The skeleton: base entry, `ou=people`, `ou=groups`, `ou=service` and the accounts.
    public static func skeleton(suffix: String = "dc=example,dc=com") -> [LDIFEntry] {
        [
            LDIFEntry(dn: suffix, [("objectClass", "dcObject"), ("objectClass", "organization"), ("o", "Example"), ("dc", "example")]),
            LDIFEntry(dn: "ou=people,\(suffix)", [("objectClass", "organizationalUnit"), ("ou", "people")]),
            LDIFEntry(dn: "ou=groups,\(suffix)", [("objectClass", "organizationalUnit"), ("ou", "groups")]),
            LDIFEntry(dn: "ou=service,\(suffix)", [("objectClass", "organizationalUnit"), ("ou", "service")]),
            serviceAccount(serviceDN, "groupsync", servicePassword),
            serviceAccount(limitedDN, "limited", limitedPassword),
        ]
    }

    /// A person under `ou=people` with uid, cn, sn, mail and a password.
    public static func person(_ uid: String, name: String? = nil, suffix: String = "dc=example,dc=com", extra: [(String, String)] = []) -> LDIFEntry {
        let cn = name ?? uid
        return LDIFEntry(dn: "uid=\(uid),ou=people,\(suffix)", [
            ("objectClass", "inetOrgPerson"), ("uid", uid), ("cn", cn),
            ("sn", String(cn.split(separator: " ").last ?? Substring(cn))),
            ("mail", "\(uid)@example.com"), ("userPassword", "\(uid)-password"),
        ] + extra)
    }

    /// A groupOfNames under `ou=groups` with the given member DNs.
    public static func group(_ cn: String, members: [String], suffix: String = "dc=example,dc=com") -> LDIFEntry {
        LDIFEntry(
            dn: "cn=\(cn),ou=groups,\(suffix)",
            [("objectClass", "groupOfNames"), ("cn", cn)] + members.map { ("member", $0) })
    }

    /// The skeleton plus `count` people named `user0000`….
    public static func people(_ count: Int) -> DirectoryFixture {
        DirectoryFixture(entries: skeleton() + (0..<count).map { person(String(format: "user%04d", $0)) })
    }

    private static func serviceAccount(_ dn: String, _ cn: String, _ password: String) -> LDIFEntry {
        LDIFEntry(dn: dn, [
            ("objectClass", "person"), ("objectClass", "simpleSecurityObject"), ("cn", cn), ("sn", cn),
            ("userPassword", password),
        ])
    }
}
