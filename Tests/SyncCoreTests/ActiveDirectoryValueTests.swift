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
