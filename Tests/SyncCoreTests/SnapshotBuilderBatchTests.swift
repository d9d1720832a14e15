import LDAPClient
import SyncCore
import Testing

/// Groups added in batches, their member values resolved on several threads at once, build
/// the same snapshot as groups added one by one.
@Suite("Snapshot building with groups resolved in parallel")
struct SnapshotBuilderBatchTests {
    static func entry(_ dn: String, _ attributes: [(String, [String])]) -> LDAPEntry {
        LDAPEntry(dn: dn, attributes: attributes.map { LDAPAttribute(name: $0.0, strings: $0.1) })
    }

    /// 400 users (every fifth read as a header), three known objects, and 300 groups whose
    /// members mix users in other spellings, usernames, groups listed before and after them,
    /// known objects, UID suffixes and values that resolve to nothing; one group of 5,000.
    static func directory() -> (users: [LDAPEntry], headers: [LDAPEntry], groups: [LDAPEntry]) {
        var generator = SystemRandomNumberGenerator()
        var users: [LDAPEntry] = [], headers: [LDAPEntry] = []
        for index in 0..<400 {
            let user = entry("uid=user\(index),ou=people,dc=x", [("entryUUID", ["u-\(index)"]), ("uid", ["user\(index)"])])
            if index.isMultiple(of: 5) { headers.append(user) } else { users.append(user) }
        }
        var groups: [LDAPEntry] = []
        for group in 0..<300 {
            var members: [String] = [], names: [String] = []
            for _ in 0..<Int.random(in: 0...40, using: &generator) {
                let user = Int.random(in: 0..<420, using: &generator)  // 400...419 resolve to nothing
                switch Int.random(in: 0..<6, using: &generator) {
                case 0: members.append("UID=User\(user), OU=People,DC=X")
                case 1: members.append("uid=user\(user),ou=people,dc=x#'0101'B")
                case 2: names.append(user.isMultiple(of: 2) ? "USER\(user)" : "user\(user)")
                case 3: members.append("cn=g\(Int.random(in: 0..<310, using: &generator)),ou=groups,dc=x")
                case 4: members.append(["uid=zed,ou=people,dc=x", "cn=staff,ou=groups,dc=x", "not a dn"].randomElement(using: &generator)!)
                default: members.append("uid=user\(user),ou=people,dc=x")
                }
            }
            if group == 7 {
                members = (0..<5000).map { "uid=user\($0 % 400),ou=people,dc=x" } + ["uid=user9999,dc=x"]
                names = []
            }
            groups.append(entry("cn=g\(group),ou=groups,dc=x", [("entryUUID", ["g-\(group)"]), ("cn", ["g\(group)"]), ("member", members), ("memberUid", names)]))
        }
        return (users, headers, groups)
    }

    static func builder(_ directory: (users: [LDAPEntry], headers: [LDAPEntry], groups: [LDAPEntry])) throws -> SnapshotBuilder {
        var builder = SnapshotBuilder(mapping: .openLDAP)
        for user in directory.users { try builder.addUser(user) }
        for user in directory.headers { try builder.addUnchangedUser(user, digest: 7) }
        builder.addKnown(.user("u-zed"), normalizedDN: "uid=zed,ou=people,dc=x")
        builder.addKnown(.group("g-staff"), normalizedDN: "cn=staff,ou=groups,dc=x")
        return builder
    }

    @Test("one by one, or in batches of 1 to 300 on 1 to 4 threads: the same snapshot", arguments: [(1, 2), (7, 2), (64, 2), (300, 2), (300, 4), (300, 1)])
    func sameSnapshot(batch: Int, workers: Int) throws {
        let directory = Self.directory()
        var single = try Self.builder(directory)
        for group in directory.groups { try single.addGroup(group) }
        var batched = try Self.builder(directory)
        for start in stride(from: 0, to: directory.groups.count, by: batch) {
            try batched.addGroups(Array(directory.groups[start..<min(start + batch, directory.groups.count)]), workers: workers)
        }
        let samePending = batched.pendingKeys.dns == single.pendingKeys.dns && batched.pendingKeys.names == single.pendingKeys.names
        #expect(samePending, "values waiting for the store differ")
        let expected = single.finish(), snapshot = batched.finish()
        let same = snapshot == expected
        #expect(same, "members \(snapshot.members == expected.members), unresolved \(snapshot.unresolved == expected.unresolved), groups \(snapshot.groups == expected.groups)")
        // The directory exercises every path: users, groups, known objects, names, the unresolved.
        let members = expected.members.values.reduce(into: Set<MemberRef>()) { $0.formUnion($1) }
        #expect(members.contains(.user("u-zed")) && members.contains(.group("g-staff")) && members.contains(.user("u-0")))
        #expect(members.contains { $0.kind == .group && $0.id.hasPrefix("g-") && $0.id != "g-staff" })
        #expect(expected.members["g-7"]?.count == 400 && expected.unresolved["g-7"] == ["uid=user9999,dc=x"])
        #expect(expected.unresolved.values.contains { $0.contains("not a dn") })
    }

    @Test("a group id seen twice in a batch fails as it does one by one, naming the second entry")
    func duplicateInBatch() throws {
        var builder = try Self.builder(Self.directory())
        let twice = [
            Self.entry("cn=a,ou=groups,dc=x", [("entryUUID", ["g-1"]), ("member", ["uid=user1,ou=people,dc=x"])]),
            Self.entry("cn=b,ou=groups,dc=x", [("entryUUID", ["G-1"]), ("member", ["uid=user2,ou=people,dc=x"])]),
        ]
        let error = try #require(throws: MappingError.self) { try builder.addGroups(twice, workers: 2) }
        #expect(error.dn == "cn=b,ou=groups,dc=x")
    }
}
