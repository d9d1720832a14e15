import SyncCore
import Testing

@Suite("Active Directory binary values")
struct ActiveDirectoryValueTests {
    @Test("objectSid as S-1-5-21-…: revision, big-endian authority, little-endian parts")
    func sid() {
        // AQUAAAAAAAUVAAAAExl3uXNRgnBb5HI0UAQAAA== as read from a Samba DC.
        let bytes: [UInt8] = [
            0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00, 0x00, 0x00, 0x13, 0x19, 0x77, 0xB9, 0x73, 0x51, 0x82, 0x70,
            0x5B, 0xE4, 0x72, 0x34, 0x50, 0x04, 0x00, 0x00,
        ]
        #expect(SnapshotBuilder.sidString(bytes) == "S-1-5-21-3111590163-1887588723-879944795-1104")
        #expect(SnapshotBuilder.sidString(Array(bytes.dropLast())) == nil, "a truncated SID is rejected")
        #expect(SnapshotBuilder.sidString([0x01, 0x00, 0, 0, 0, 0, 0, 0x05]) == "S-1-5")
    }
}

@Suite("objectGUID text and bytes")
struct GUIDRoundTripTests {
    @Test("a GUID string turns back into the bytes it came from, and into an objectGUID filter")
    func roundTrip() throws {
        let bytes: [UInt8] = [0xa4, 0x6a, 0x90, 0x05, 0xfd, 0x28, 0x28, 0x4d, 0x83, 0xa4, 0xd6, 0xe3, 0xc2, 0x27, 0xa6, 0xac]
        let text = SnapshotBuilder.guidString(bytes)
        #expect(text == "05906aa4-28fd-4d28-83a4-d6e3c227a6ac")
        #expect(SnapshotBuilder.guidBytes(text) == bytes)
        #expect(SnapshotBuilder.guidBytes("not-a-guid") == nil)
        #expect(SnapshotBuilder.idFilter(text, mapping: .activeDirectory).render() == "(objectGUID=\\a4\\6a\\90\\05\\fd\\28\\28\\4d\\83\\a4\\d6\\e3\\c2\\27\\a6\\ac)")
        #expect(SnapshotBuilder.idFilter("abc", mapping: .openLDAP).render() == "(entryUUID=abc)")
    }
}
