import LDAPClient
import Testing

@Suite("The fast DN normaliser agrees with the full parser")
struct DNNormalizerTests {
    @Test(
        "hand-picked names",
        arguments: [
            "uid=jdoe,ou=people,dc=example,dc=com", "UID=JDoe, OU=People ,DC=Example,DC=COM", "cn=Ann  Lee,dc=x",
            "cn= padded ,dc=x", #"cn=Smith\, John,dc=x"#, "cn=a+uid=b,dc=x", "2.5.4.3=x,dc=y", "commonName=x,dc=y",
            "cn=Jürgen,dc=x", "cn=#0401,dc=x", "", "cn=a,", "=x", "cn", "cn=,dc=x", "cn=a;dc=x", "oid.2.5.4.3=x",
            "organizationalUnitName=x", "ou=Sales - EMEA,dc=x", "cn=a=b,dc=x",
        ])
    func agrees(_ dn: String) {
        let expected = try? DistinguishedName(dn).normalized
        #expect(DistinguishedName.normalizedKey(Array(dn.utf8)[...]) == expected, "\(dn)")
        #expect(DistinguishedName.normalizedKey(dn) == expected, "\(dn)")
    }

    @Test("random names built from the characters that matter")
    func randomized() {
        var state: UInt64 = 42
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let pieces = ["cn", "OU", "dc", "uid", "x", "A", "b c", " ", "  ", "=", ",", "+", "\\,", "\\2C", "é", "#", "-", "1", ";", "\""]
        for _ in 0..<5000 {
            let dn = (0..<(1 + next(8))).map { _ in pieces[next(pieces.count)] }.joined()
            let expected = try? DistinguishedName(dn).normalized
            #expect(DistinguishedName.normalizedKey(Array(dn.utf8)[...]) == expected, "\(dn)")
            #expect(DistinguishedName.normalizedKey(dn) == expected, "\(dn)")
        }
    }
}
