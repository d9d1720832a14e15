import Foundation

/// A small, realistic company directory for the demo: a few hundred people in
/// departments, department groups nested in all-staff, managers, the groups mail
/// policies target, a posixGroup, and a former employee still listed as a member.
public enum SampleDirectory {
    public static let departments = ["Finance", "Sales", "Engineering", "Support", "Marketing", "Legal", "People", "Operations"]
    static let firstNames = [
        "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Karl", "Liam", "Mallory",
        "Nina", "Oscar", "Peggy", "Quentin", "Rupert", "Sybil", "Trent", "Uma", "Victor", "Wendy", "Xavier", "Yvonne", "Zoë",
    ]
    static let lastNames = [
        "Archer", "Baker", "Clark", "Dunn", "Evans", "Fischer", "García", "Hughes", "Ibrahim", "Jones", "Kowalski", "Larsen",
        "Müller", "Nakamura", "O'Brien", "Patel",
    ]

    public struct Person: Sendable {
        public var uid: String
        public var name: String
        public var department: String
        public var dn: String { "uid=\(uid),ou=people,dc=example,dc=com" }
    }

    /// `count` people, deterministic: person i is firstNames[i % 26] lastNames[i / 26 % 16].
    public static func people(_ count: Int) -> [Person] {
        (0..<count).map { index in
            let first = firstNames[index % firstNames.count]
            let last = lastNames[(index / firstNames.count) % lastNames.count]
            let suffix = index >= firstNames.count * lastNames.count ? String(index) : ""
            let uid = (first.prefix(1) + last).lowercased().folding(options: .diacriticInsensitive, locale: nil)
                .replacingOccurrences(of: "'", with: "") + suffix
            return Person(uid: uid, name: "\(first) \(last)", department: departments[index % departments.count])
        }
    }

    public static func fixture(people count: Int = 300) -> DirectoryFixture {
        let people = people(count)
        var entries = DirectoryFixture.skeleton()
        for person in people {
            entries.append(DirectoryFixture.person(person.uid, name: person.name, extra: [
                ("departmentNumber", person.department), ("title", person.department + " specialist"),
            ]))
        }
        for department in departments {
            let members = people.filter { $0.department == department }.map(\.dn)
            var group = DirectoryFixture.group(department.lowercased(), members: members)
            group.attributes.append(("description", "Everyone in \(department)"))
            entries.append(group)
        }
        let managers = stride(from: 0, to: people.count, by: 15).map { people[$0].dn }
        entries.append(DirectoryFixture.group("managers", members: managers))
        entries.append(DirectoryFixture.group("all-staff", members: departments.map { "cn=\($0.lowercased()),ou=groups,dc=example,dc=com" }))
        entries.append(DirectoryFixture.group("permitted-senders-finance", members: [
            "cn=finance,ou=groups,dc=example,dc=com", "cn=managers,ou=groups,dc=example,dc=com",
        ]))
        entries.append(LDIFEntry(dn: "cn=relay-senders,ou=groups,dc=example,dc=com", [
            ("objectClass", "groupOfUniqueNames"), ("cn", "relay-senders"),
        ] + people.prefix(5).map { ("uniqueMember", $0.dn) }))
        entries.append(LDIFEntry(dn: "cn=contractors,ou=groups,dc=example,dc=com", [
            ("objectClass", "posixGroup"), ("cn", "contractors"), ("gidNumber", "7000"),
        ] + people.suffix(4).map { ("memberUid", $0.uid) }))
        // A former employee still listed in Sales: reported as an unresolved member.
        if let index = entries.firstIndex(where: { $0.dn == "cn=sales,ou=groups,dc=example,dc=com" }) {
            entries[index].attributes.append(("member", "uid=former.employee,ou=people,dc=example,dc=com"))
        }
        return DirectoryFixture(entries: entries)
    }
}
