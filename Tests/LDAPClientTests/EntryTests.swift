import LDAPClient
import Testing

/// An entry's attributes keep their values end to end in one buffer; what callers read
/// must be what they would read from an array per value.
@Suite("Entries and attribute values")
struct EntryTests {
    @Test("values read in place equal the arrays they were made from, empty values and attributes included")
    func valuesInPlace() {
        let cases: [[[UInt8]]] = [[], [[]], [[], []], [Array("a".utf8)], [Array("uid=x,dc=y".utf8), [], Array("ü".utf8), [0, 255]]]
        for values in cases {
            let attribute = LDAPAttribute(name: "member", values: values)
            #expect(attribute.count == values.count)
            #expect(attribute.values == values)
            for (index, value) in values.enumerated() { #expect(Array(attribute.value(at: index)) == value) }
        }
        // Equal values make equal attributes, however they were made.
        var rebuilt = LDAPAttribute(name: "member", values: [])
        rebuilt.values = [Array("a".utf8), Array("bc".utf8)]
        #expect(rebuilt == LDAPAttribute(name: "member", strings: ["a", "bc"]))
        #expect(rebuilt.hashValue == LDAPAttribute(name: "member", strings: ["a", "bc"]).hashValue)
        #expect(rebuilt != LDAPAttribute(name: "member", strings: ["ab", "c"]), "the same bytes split otherwise are other values")
    }

    @Test("lookups by attribute name ignore case; strings decode every value")
    func lookups() {
        let entry = LDAPEntry(dn: "uid=a,dc=x", attributes: [
            LDAPAttribute(name: "mail", strings: []),
            LDAPAttribute(name: "mailAlternateAddress", strings: ["a@x", "b@x"]),
        ])
        #expect(entry.string("MAILALTERNATEADDRESS") == "a@x")
        #expect(entry.strings("mailalternateaddress") == ["a@x", "b@x"])
        #expect(entry["mailAlternateAddress"] == [Array("a@x".utf8), Array("b@x".utf8)])
        #expect(entry.string("mail") == nil, "present without values")
        #expect(entry.string("cn") == nil && entry.strings("cn").isEmpty && entry["cn"].isEmpty)
        #expect(entry.attribute("Mail")?.count == 0)
    }
}
