import LDAPClient
import Testing

@Suite("RFC 4515 filter building and escaping")
struct LDAPFilterTests {
    @Test("metacharacters in a value are escaped so the value cannot change the filter")
    func injectionAttempt() {
        let filter = LDAPFilter.and([.equal("objectClass", "inetOrgPerson"), .equal("uid", "*)(uid=*")])
        #expect(filter.render() == #"(&(objectClass=inetOrgPerson)(uid=\2a\29\28uid=\2a))"#)
    }

    @Test(
        "each special byte has its escape",
        arguments: [
            ("*", #"\2a"#), ("(", #"\28"#), (")", #"\29"#), (#"\"#, #"\5c"#), ("\u{0}", #"\00"#),
            ("a b", "a b"), ("plain-value.1", "plain-value.1"), ("é", #"\c3\a9"#), ("日本", #"\e6\97\a5\e6\9c\ac"#),
            ("\n", #"\0a"#),
        ])
    func escapes(value: String, expected: String) {
        #expect(LDAPFilter.escape(value) == expected)
    }

    @Test("binary values are escaped byte by byte")
    func binary() {
        #expect(LDAPFilter.escape(bytes: [0x00, 0xFF, 0x41, 0x2A]) == #"\00\ffA\2a"#)
    }

    @Test("composite filters render as RFC 4515 text")
    func composite() {
        let filter = LDAPFilter.or([
            .not(.present("disabled")),
            .substring("cn", initial: "Jo*", any: ["a)"], final: "n"),
            .greaterOrEqual("uidNumber", "1000"),
            .lessOrEqual("uidNumber", "2000"),
            .approximately("sn", "smith"),
            .extensible(attribute: "memberOf", dnAttributes: false, rule: "1.2.840.113556.1.4.1941", value: "cn=a\\,b"),
        ])
        #expect(filter.render() == #"(|(!(disabled=*))(cn=Jo\2a*a\29*n)(uidNumber>=1000)(uidNumber<=2000)(sn~=smith)(memberOf:1.2.840.113556.1.4.1941:=cn=a\5c,b))"#)
    }

    @Test("a raw filter from configuration is kept and gets parentheses when missing")
    func raw() {
        #expect(LDAPFilter.raw("objectClass=person").render() == "(objectClass=person)")
        #expect(LDAPFilter.raw("(&(a=1)(b=2))").render() == "(&(a=1)(b=2))")
    }
}

@Suite("AD ranged attribute names")
struct AttributeRangeTests {
    @Test("member;range=low-high and low-* parse; other names do not")
    func parse() {
        #expect(AttributeRange("member;range=0-1499") == AttributeRange("member;range=0-1499"))
        let first = AttributeRange("member;range=0-1499")
        #expect(first?.attribute == "member" && first?.low == 0 && first?.high == 1499)
        let last = AttributeRange("member;Range=1500-*")
        #expect(last?.low == 1500 && last?.high == nil)
        #expect(AttributeRange("member") == nil)
        #expect(AttributeRange("userCertificate;binary") == nil)
        #expect(AttributeRange("member;range=x-1") == nil)
    }
}
