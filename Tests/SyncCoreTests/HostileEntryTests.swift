import LDAPClient
import SyncCore
import Testing

/// Entries a directory should not hold but may: bytes that are not UTF-8, a group that
/// lists itself, DNs escaped every way RFC 4514 allows.
@Suite("Hostile directory entries, without a server")
struct HostileEntryTests {
    static func entry(_ dn: String, _ attributes: [(String, [[UInt8]])]) -> LDAPEntry {
        LDAPEntry(dn: dn, attributes: attributes.map { LDAPAttribute(name: $0.0, values: $0.1) })
    }

    @Test("values that are not UTF-8 become U+FFFD, never a crash; the entry is still tracked by its id")
    func invalidUTF8() throws {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        try builder.addUser(Self.entry("uid=bad,ou=people,dc=x", [
            ("entryUUID", [Array("u-1".utf8)]), ("uid", [[0x62, 0xFF, 0x64]]), ("cn", [[0xC3, 0x28]]),
            ("mail", [[0x61, 0x40, 0xFE, 0x2E, 0x63, 0x6F, 0x6D]]),
        ]))
        try builder.addGroup(Self.entry("cn=g,ou=groups,dc=x", [
            ("entryUUID", [Array("g-1".utf8)]), ("cn", [Array("g".utf8)]),
            ("member", [Array("uid=bad,ou=people,dc=x".utf8), [0x75, 0x69, 0x64, 0x3D, 0xFF]]),
        ]))
        let snapshot = builder.finish()
        #expect(snapshot.users["u-1"]?.username == "b\u{FFFD}d")
        #expect(snapshot.members["g-1"] == [.user("u-1")])
        #expect(snapshot.unresolved["g-1"] == ["uid=\u{FFFD}"])
    }

    @Test("a group that lists itself: one membership of itself, and the closure ends")
    func selfMember() throws {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        try builder.addUser(Self.entry("uid=a,dc=x", [("entryUUID", [Array("u-1".utf8)]), ("uid", [Array("a".utf8)])]))
        try builder.addGroup(Self.entry("cn=loop,dc=x", [
            ("entryUUID", [Array("g-1".utf8)]), ("member", [Array("cn=loop,dc=x".utf8), Array("uid=a,dc=x".utf8)]),
        ]))
        let snapshot = builder.finish()
        #expect(snapshot.members["g-1"] == [.group("g-1"), .user("u-1")])
        #expect(EffectiveMembership(snapshot).users(of: "g-1") == ["u-1"])
        #expect(EffectiveMembership.ancestors(of: ["g-1"], in: snapshot) == ["g-1"])
    }

    @Test("a member DN escaped every way RFC 4514 allows resolves to the entry")
    func escapes() throws {
        let dn = ##"cn=\#lead\, comma \+ plus \"quote\" \<lt\> \>gt\; semi \\ back \=eq\ ,ou=people,dc=x"##
        let hex = #"CN=\23lead\2C comma \2B plus \22quote\22 \3Clt\3E \3Egt\3B semi \5C back \3Deq\20,OU=People,DC=X"#
        var builder = SnapshotBuilder(mapping: .openLDAP)
        try builder.addUser(Self.entry(dn, [("entryUUID", [Array("u-1".utf8)]), ("uid", [Array("esc".utf8)])]))
        try builder.addGroup(Self.entry("cn=g,dc=x", [("entryUUID", [Array("g-1".utf8)]), ("member", [Array(hex.utf8)])]))
        let snapshot = builder.finish()
        #expect(snapshot.members["g-1"] == [.user("u-1")], "\(snapshot.unresolved)")
        #expect(try DistinguishedName(dn) == DistinguishedName(hex))
    }
}
