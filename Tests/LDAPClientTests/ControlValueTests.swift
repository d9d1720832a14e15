import LDAPClient
import Testing

@Suite("BER values of LDAP controls (no server)")
struct ControlValueTests {
    @Test("integers take their shortest two's-complement form and read back", arguments: [0, 1, 127, 128, 255, 256, -1, -128, -129, 0x8000_0000, Int64.max, Int64.min])
    func integers(value: Int64) throws {
        let encoded = BER.integer(value)
        var reader = BERReader(encoded)
        #expect(try reader.next(BER.integer).integer() == value)
        #expect(reader.isAtEnd)
    }

    @Test("known encodings: 0, 128, -1, a long octet string's length")
    func knownBytes() {
        #expect(BER.integer(0) == [0x02, 0x01, 0x00])
        #expect(BER.integer(128) == [0x02, 0x02, 0x00, 0x80])
        #expect(BER.integer(-1) == [0x02, 0x01, 0xFF])
        let long = BER.octetString([UInt8](repeating: 7, count: 300))
        #expect(Array(long.prefix(4)) == [0x04, 0x82, 0x01, 0x2C])
        #expect(BER.boolean(true) == [0x01, 0x01, 0xFF])
    }

    @Test("the DirSync request is SEQUENCE { flags, maxBytes, cookie }, critical")
    func dirSyncRequest() throws {
        let control = DirSync.request(cookie: [1, 2, 3], flags: .objectSecurity, maxBytes: 1000)
        #expect(control.oid == "1.2.840.113556.1.4.841" && control.critical)
        var outer = BERReader(try #require(control.value))
        var fields = try outer.next(BER.sequence).reader
        #expect(try fields.next(BER.integer).integer() == 1)
        #expect(try fields.next(BER.integer).integer() == 1000)
        #expect(try fields.next(BER.octetString).bytes == [1, 2, 3])
        #expect(fields.isAtEnd && outer.isAtEnd)
        // Without a cookie, an empty one.
        #expect(DirSync.request(cookie: nil).value == [0x30, 0x08, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00])
    }

    @Test("the DirSync response gives more-results and the cookie; a truncated one is an error, not a crash")
    func dirSyncResponse() throws {
        let value = BER.sequence([BER.integer(1), BER.integer(0), BER.octetString([9, 8, 7])])
        let response = try #require(try DirSync.response(in: [LDAPControlValue(oid: DirSync.oid, value: value)]))
        #expect(response == DirSync.Response(moreResults: true, cookie: [9, 8, 7]))
        #expect(try DirSync.response(in: []) == nil)
        #expect(throws: BERError.self) { try DirSync.response(in: [LDAPControlValue(oid: DirSync.oid, value: Array(value.dropLast(2)))]) }
        #expect(throws: BERError.self) { try DirSync.response(in: [LDAPControlValue(oid: DirSync.oid, value: [0x30, 0x84, 0xFF])]) }
    }

    @Test("a binary equality filter escapes every byte")
    func binaryFilter() {
        #expect(LDAPFilter.equalBytes("objectGUID", [0x00, 0x2A, 0xFF]).render() == "(objectGUID=\\00\\2a\\ff)")
    }
}
