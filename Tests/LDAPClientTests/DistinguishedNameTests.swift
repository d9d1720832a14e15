import LDAPClient
import Testing

@Suite("RFC 4514 distinguished names")
struct DistinguishedNameTests {
    @Test("escaped comma, multi-valued RDN and hex escapes parse to the same name")
    func escapedForms() throws {
        let plain = try DistinguishedName(#"cn=Smith\, John+uid=js,ou=people,dc=example,dc=com"#)
        let hex = try DistinguishedName(#"cn=Smith\2C John+uid=js,ou=people,dc=example,dc=com"#)
        let swapped = try DistinguishedName(#"UID=JS+CN=smith\2c john , OU=People,DC=Example,DC=COM"#)
        #expect(plain == hex)
        #expect(plain == swapped)
        #expect(plain.hashValue == swapped.hashValue)
        #expect(plain.rdns.count == 4)
        #expect(plain.rdns[0].attributes.map(\.type) == ["cn", "uid"])
        #expect(plain.rdns[0].attributes[0].value == "Smith, John")
    }

    @Test("rendering escapes what RFC 4514 requires and round-trips")
    func rendering() throws {
        let dn = try DistinguishedName(#"cn=Smith\2C John+uid=js,ou=people,dc=example,dc=com"#)
        #expect(dn.description == #"cn=Smith\, John+uid=js,ou=people,dc=example,dc=com"#)
        #expect(try DistinguishedName(dn.description) == dn)
        let tricky = try DistinguishedName(##"cn=\ lead\#hash\;semi\<lt\>gt\"q\\back\+plus\=eq trail\ ,dc=x"##)
        #expect(tricky.rdns[0].attributes[0].value == #" lead#hash;semi<lt>gt"q\back+plus=eq trail "#)
        #expect(try DistinguishedName(tricky.description) == tricky)
        #expect(tricky.description.hasPrefix(#"cn=\ lead#hash\;semi\<lt\>gt\"q\\back\+plus\=eq trail\ "#))
        let leadingHash = DistinguishedName(rdns: [RelativeDistinguishedName([AttributeTypeAndValue(type: "cn", value: "#1")])])
        #expect(leadingHash.description == ##"cn=\#1"##)
    }

    @Test("UTF-8 values match their hex-escaped form and compare case-insensitively")
    func utf8() throws {
        let literal = try DistinguishedName("cn=Jürgen Müller,ou=people,dc=example,dc=com")
        let escaped = try DistinguishedName(#"cn=J\C3\BCrgen M\c3\bcller,ou=people,dc=example,dc=com"#)
        let upper = try DistinguishedName("CN=JÜRGEN MÜLLER,OU=PEOPLE,DC=EXAMPLE,DC=COM")
        #expect(literal == escaped)
        #expect(literal == upper)
        #expect(literal.leafValue == "Jürgen Müller")
        let decomposed = try DistinguishedName("cn=Ju\u{0308}rgen Mu\u{0308}ller,ou=people,dc=example,dc=com")
        #expect(decomposed == literal)
    }

    @Test("insignificant spaces are ignored, significant ones kept")
    func spaces() throws {
        #expect(try DistinguishedName("cn = Ann  Lee , dc=x") == DistinguishedName("cn=ann lee,dc=x"))
        #expect(try DistinguishedName("cn=Ann Lee,dc=x") != DistinguishedName("cn=AnnLee,dc=x"))
    }

    @Test("OID and long attribute type names match their short names")
    func typeAliases() throws {
        #expect(try DistinguishedName("2.5.4.3=Ann,0.9.2342.19200300.100.1.25=x") == DistinguishedName("cn=ann,dc=x"))
        #expect(try DistinguishedName("commonName=Ann,domainComponent=x") == DistinguishedName("CN=Ann,DC=x"))
    }

    @Test("hex-encoded BER values compare as bytes")
    func binaryValues() throws {
        let dn = try DistinguishedName("uid=#04024869,dc=x")
        #expect(dn.rdns[0].attributes[0].binaryValue == [0x04, 0x02, 0x48, 0x69])
        #expect(dn == (try DistinguishedName("UID=#04024869,DC=X")))
    }

    @Test("ancestry and parent")
    func hierarchy() throws {
        let user = try DistinguishedName("uid=a,ou=People,dc=example,dc=com")
        let base = try DistinguishedName("OU=people,DC=Example,DC=com")
        #expect(user.isWithin(base))
        #expect(!base.isWithin(user))
        #expect(user.parent == base)
        #expect(try DistinguishedName("") == .root)
        #expect(user.isWithin(.root))
    }

    @Test(
        "malformed names are rejected with the offset of the problem",
        arguments: [
            ("cn=a,", "ends with a separator"), ("=a,dc=x", "expected an attribute type"),
            ("cn a,dc=x", "expected \"=\""), (#"cn=a\"#, "inside an escape"), (#"cn=\zz"#, "not a valid escape"),
            ("cn=#0", "hex digits"), (#"cn=\ff\fe"#, "not valid UTF-8"), ("cn=\"open", "unterminated"),
        ])
    func malformed(input: String, reason: String) {
        #expect {
            try DistinguishedName(input)
        } throws: { error in
            guard let error = error as? DNParseError else { return false }
            return error.reason.contains(reason) && error.description.contains(input)
        }
    }
}
