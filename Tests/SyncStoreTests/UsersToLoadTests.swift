import SyncCore
import SyncStore
import Testing

/// Which stored users a full run must read back before planning, against a directory
/// snapshot that knows some users by digest only (read as headers).
@Suite("Stored users to load for a plan")
struct UsersToLoadTests {
    static let alice = DirectoryUser(id: "a", dn: "uid=alice,dc=x", username: "alice", mail: "alice@x")
    static let bob = DirectoryUser(id: "b", dn: "uid=bob,dc=x", username: "bob")
    static let carol = DirectoryUser(id: "c", dn: "uid=carol,dc=x", username: "carol")

    /// The store's header: every user by digest.
    static var stored: Snapshot {
        var header = Snapshot()
        header.partialUsers = true
        for user in [alice, bob, carol] { header.userDigests[user.id] = user.stableDigest }
        return header
    }

    @Test("a header user, a user read whole unchanged, one changed and one gone: the changed and the gone are read")
    func partialWanted() {
        var wanted = Snapshot()
        wanted.partialUsers = true
        wanted.userDigests["a"] = Self.alice.stableDigest
        var bob = Self.bob
        bob.mail = "bob@x"
        wanted.users["b"] = bob
        wanted.userDigests["b"] = bob.stableDigest
        #expect(Set(Self.stored.usersToLoad(differingFrom: wanted)) == ["b", "c"])

        // A user read whole whose digest the snapshot does not list is compared by its own.
        wanted.users["c"] = Self.carol
        #expect(Set(Self.stored.usersToLoad(differingFrom: wanted)) == ["b"])
    }

    @Test("against a snapshot of whole users: those that differ or are gone; none from a loaded store")
    func wholeWanted() {
        let wanted = Snapshot(users: [Self.alice, Self.bob], groups: [], memberships: [])
        #expect(Self.stored.usersToLoad(differingFrom: wanted) == ["c"])
        #expect(Snapshot(users: [Self.alice], groups: [], memberships: []).usersToLoad(differingFrom: wanted).isEmpty, "a loaded store has nothing to load")
    }
}
