import SyncCore
import Testing

/// User digests are stored with each user and compared with the next run's: a change to
/// how they are computed would make every stored user look changed (or, worse, unchanged).
@Suite("Stored digests stay the same")
struct DigestStabilityTests {
    /// The digests as the first stored version computed them: the fields (nil as U+0001,
    /// the aliases joined by NUL) each followed by 0x1F, FNV-1a with a SplitMix64 finaliser.
    static func reference(_ fields: [String?]) -> UInt64 {
        var state: UInt64 = 0xCBF2_9CE4_8422_2325
        for field in fields {
            for byte in Array((field ?? "\u{1}").utf8) + [0x1F] { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
        var hash = state
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        hash ^= hash >> 31
        return hash == 0 ? 1 : hash
    }

    static let users = [
        DirectoryUser(id: "a", dn: "uid=alice,dc=x"),
        DirectoryUser(id: "b", dn: "uid=bob,dc=x", username: "bob", mail: "bob@x", aliases: ["b@x"], displayName: "Bob", disabled: true),
        DirectoryUser(id: "c", dn: "cn=Ça va,dc=x", username: "ça", aliases: ["one@x", "two@x", ""], displayName: "", primaryGroup: "S-1-5-21-1-2-3-513"),
        DirectoryUser(id: "d", dn: "", aliases: []),
    ]

    @Test("stableDigest and resolutionDigest equal the stored formula", arguments: users)
    func sameValues(_ user: DirectoryUser) {
        let fields: [String?] = [user.id, user.dn, user.username, user.mail, user.aliases.joined(separator: "\u{0}"), user.displayName, user.disabled ? "1" : "0"]
        #expect(user.stableDigest == Self.reference(user.primaryGroup.map { fields + [$0] } ?? fields))
        let resolution: [String?] = [user.id, user.dn, user.username]
        #expect(user.resolutionDigest == Self.reference(user.primaryGroup.map { resolution + [$0] } ?? resolution))
    }

    @Test("a change to any field changes the digest")
    func fieldsCount() {
        let base = Self.users[1]
        var variants = [base]
        var user = base; user.mail = "other@x"; variants.append(user)
        user = base; user.aliases = ["b@x", "c@x"]; variants.append(user)
        user = base; user.aliases = ["b@xc@x"]; variants.append(user)
        user = base; user.displayName = nil; variants.append(user)
        user = base; user.disabled = false; variants.append(user)
        user = base; user.primaryGroup = "S-1"; variants.append(user)
        #expect(Set(variants.map(\.stableDigest)).count == variants.count)
    }
}
