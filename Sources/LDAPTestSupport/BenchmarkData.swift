import Foundation

/// The benchmark directory (also the load test's): 100,000 users, 10,000 groups and 1,000,000 member values —
/// one group of 60,000 members, five of 20,000, the rest small, and about 500 groups nested
/// in others — written as LDIF for `slapadd -q`. Deterministic (a fixed seed).
public struct BenchmarkData: Sendable {
    public var users = 100_000
    public var groups = 10_000
    public var memberValues = 1_000_000

    public init() {}

    public static let people = "ou=people,dc=example,dc=com"
    public static let groupsBase = "ou=groups,dc=example,dc=com"

    public static func userDN(_ index: Int) -> String { "uid=u\(index),\(people)" }
    public static func groupDN(_ index: Int) -> String { "cn=g\(index),\(groupsBase)" }

    /// Writes the LDIF (people and groups, without the skeleton) and returns each group's
    /// user members, for generating changes later.
    public func write(to path: String) throws -> [Int: [Int]] {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? file.close() }
        var buffer = ""
        buffer.reserveCapacity(1 << 20)
        func flush(force: Bool = false) {
            if force || buffer.utf8.count > (1 << 20) {
                file.write(Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        for index in 0..<users {
            buffer += """
                dn: \(Self.userDN(index))
                objectClass: inetOrgPerson
                uid: u\(index)
                cn: User \(index)
                sn: \(index)
                mail: u\(index)@example.com

                """
            buffer += "\n"
            flush()
        }
        var random = SplitMix64(seed: 20261128)
        // Sizes: 6% of the values in one group (60,000), 2% in each of five (20,000), the
        // rest shared by the small groups (about 84 each).
        var sizes = [memberValues * 6 / 100] + Array(repeating: memberValues * 2 / 100, count: 5)
        let remaining = memberValues - sizes.reduce(0, +)
        let small = groups - sizes.count
        for index in 0..<small {
            let base = remaining / small
            sizes.append(index < remaining % small ? base + 1 : base)
        }
        var members: [Int: [Int]] = [:]
        for group in 0..<groups {
            var lines = "dn: \(Self.groupDN(group))\nobjectClass: groupOfNames\ncn: g\(group)\n"
            var size = sizes[group]
            // About one small group in twenty holds one or two other groups.
            if group >= 6 && group % 20 == 0 {
                let nested = 1 + Int(random.next() % 2)
                for _ in 0..<nested {
                    lines += "member: \(Self.groupDN(6 + Int(random.next() % UInt64(groups - 6))))\n"
                }
                size -= nested
            }
            let start = Int(random.next() % UInt64(users))
            var userMembers: [Int] = []
            userMembers.reserveCapacity(size)
            for offset in 0..<size {
                let user = (start + offset) % users
                userMembers.append(user)
                lines += "member: \(Self.userDN(user))\n"
            }
            members[group] = userMembers
            buffer += lines + "\n"
            flush()
        }
        flush(force: true)
        return members
    }
}

/// A small deterministic random number generator.
public struct SplitMix64: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
