import SyncCore
import Testing

/// Replaying OpenLDAP access log records into member value changes, without a server.
@Suite("Access log replay")
struct AccessLogReplayTests {
    static let eng = "00000000-0000-0000-0000-00000000e000"
    static let ops = "00000000-0000-0000-0000-00000000a000"
    static func csn(_ second: Int) -> String { "20261130120000.\(String(format: "%06d", second))Z#000000#000#000000" }
    static func modify(_ group: String, _ second: Int, _ mods: [String]) -> AccessLogRecord {
        AccessLogRecord(entryID: group.uppercased(), type: "modify", csn: csn(second), modifications: mods + ["entryCSN:= \(csn(second))", "modifiersName:= cn=admin"])
    }

    @Test("reqMod values: attribute, operation, value")
    func modifications() {
        #expect(AccessLogModification("member:+ uid=a,dc=x") == AccessLogModification(attribute: "member", operation: "+", value: "uid=a,dc=x"))
        #expect(AccessLogModification("uniqueMember:- uid=a,dc=x#'01'B")?.attribute == "uniquemember")
        #expect(AccessLogModification("member:-")?.value == nil)
        #expect(AccessLogModification("description:= a: b")?.value == "a: b")
        for broken in ["member", "member+ x", ":+ x", "member:+x", "member:* x"] { #expect(AccessLogModification(broken) == nil, "\(broken)") }
    }

    @Test("each value's last state, in CSN order, whatever order the records came in; the marker's last value")
    func lastStateWins() throws {
        let records = [
            Self.modify(Self.eng, 3, ["member:- UID=A,OU=People,DC=x"]),
            Self.modify(Self.eng, 1, ["member:+ uid=a,ou=people,dc=x", "member:+ uid=b,ou=people,dc=x"]),
            Self.modify(Self.ops, 2, ["member:- uid=c,ou=people,dc=x"]),
            // Another entry's record: ignored.
            AccessLogRecord(entryID: "11111111-0000-0000-0000-000000000000", type: "modrdn", csn: Self.csn(4), modifications: []),
        ]
        let changes = try AccessLogMemberChanges.replay(records, groups: [Self.eng, Self.ops], memberAttributes: ["member"], marker: "entryCSN").get()
        #expect(changes.values == [
            Self.eng: ["uid=a,ou=people,dc=x": false, "uid=b,ou=people,dc=x": true],
            Self.ops: ["uid=c,ou=people,dc=x": false],
        ])
        #expect(changes.markers == [Self.eng: Self.csn(3), Self.ops: Self.csn(2)])
        // Without a marker attribute none is needed.
        #expect(try AccessLogMemberChanges.replay(records, groups: [Self.ops], memberAttributes: ["member"], marker: nil).get().markers == [:])
    }

    @Test(
        "anything but single member values added or deleted is a reason to read the groups",
        arguments: [
            (["member:= uid=a,dc=x"], "replaced or all deleted"),
            (["member:-"], "replaced or all deleted"),
            (["description:= eng"], "had description changed"),
            (["memberUid:+ alice"], "had memberuid changed"),
            (["member:+ not a dn"], "not a DN"),
            (["member+ uid=a,dc=x"], "the log wrote as"),
        ])
    func unusable(mods: [String], reason: String) {
        let result = AccessLogMemberChanges.replay([Self.modify(Self.eng, 1, mods)], groups: [Self.eng], memberAttributes: ["member"], marker: nil)
        guard case .failure(let unusable) = result else {
            Issue.record("replayed \(mods)")
            return
        }
        #expect(unusable.reason.contains(reason), "\(unusable)")
    }

    @Test("a rename or delete, a group without a record, a record without the marker")
    func incomplete() {
        let renamed = AccessLogRecord(entryID: Self.eng, type: "modrdn", csn: Self.csn(1), modifications: [])
        func reason(_ records: [AccessLogRecord], marker: String? = nil) -> String? {
            if case .failure(let unusable) = AccessLogMemberChanges.replay(records, groups: [Self.eng], memberAttributes: ["member"], marker: marker) {
                return unusable.reason
            }
            return nil
        }
        #expect(reason([renamed])?.contains("had a modrdn operation") == true)
        #expect(reason([Self.modify(Self.ops, 1, ["member:+ uid=a,dc=x"])])?.contains("the log has no record of it") == true)
        let noMarker = AccessLogRecord(entryID: Self.eng, type: "modify", csn: Self.csn(1), modifications: ["member:+ uid=a,dc=x"])
        #expect(reason([noMarker], marker: "entryCSN")?.contains("no new change marker") == true)
        #expect(reason([noMarker]) == nil)
    }

    @Test("the CSNs of a content synchronization cookie")
    func cookies() {
        #expect(ContentSyncCookie.csns(Array("rid=000,csn=\(Self.csn(1))".utf8)) == [Self.csn(1)])
        #expect(ContentSyncCookie.csns(Array("rid=001,sid=002,csn=a#1;b#2".utf8)) == ["a#1", "b#2"])
        #expect(ContentSyncCookie.csns(Array("rid=000".utf8)) == [])
    }
}
