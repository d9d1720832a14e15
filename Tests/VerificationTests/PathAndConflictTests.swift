import Foundation
import LDAPTestSupport
import SyncCore
import Testing
@testable import Verification

@Suite("Verification logic without a server")
struct PathAndConflictTests {
    static func key(_ id: String) -> GroupKey { GroupKey(directory: "corp", id: id) }

    static func graph(direct: [String], parents: [String: [String]]) -> UserGraph {
        var groups: [GroupKey: GroupInfo] = [:]
        for id in Set(direct + parents.keys + parents.values.flatMap { $0 }) {
            groups[key(id)] = GroupInfo(directory: "corp", group: DirectoryGroup(id: id, dn: "cn=\(id),ou=groups,dc=x", name: id))
        }
        return UserGraph(
            user: UserInfo(directory: "corp", user: DirectoryUser(id: "u1", dn: "uid=alice,dc=x", username: "alice")),
            groups: groups, direct: direct.map(key),
            parents: Dictionary(uniqueKeysWithValues: parents.map { (key($0.key), $0.value.map(key)) }))
    }

    @Test("paths go outward shortest first, survive cycles, and stop at the limit per group")
    func paths() {
        // a → b → c → a (a cycle), and a → c directly.
        let graph = Self.graph(direct: ["a"], parents: ["a": ["b", "c"], "b": ["c"], "c": ["a"]])
        let paths = graph.paths(limit: 5)
        #expect(paths[Self.key("c")] == [[Self.key("a"), Self.key("c")], [Self.key("a"), Self.key("b"), Self.key("c")]])
        #expect(paths[Self.key("a")] == [[Self.key("a")]])
        // A wide diamond lattice: the limit bounds the paths kept.
        var parents: [String: [String]] = [:]
        for level in 0..<10 { for i in 0..<4 { parents["l\(level)-\(i)"] = (0..<4).map { "l\(level + 1)-\($0)" } } }
        let wide = Self.graph(direct: ["l0-0"], parents: parents)
        #expect(wide.paths(limit: 3)[Self.key("l10-0")]?.count == 3)
    }

    @Test("paths to chosen groups are exactly the full walk's paths to them (random nestings, cycles, small limits)")
    func pathsToTargets() {
        var random = SplitMix64(seed: 7)
        for round in 0..<300 {
            let count = 2 + Int(random.next() % 14)
            var parents: [String: [String]] = [:]
            for child in 0..<count {
                let edges = Int(random.next() % 4)
                parents["g\(child)"] = Set((0..<edges).map { _ in "g\(random.next() % UInt64(count))" }).filter { $0 != "g\(child)" }.sorted()
            }
            let direct = Set((0..<(1 + Int(random.next() % 3))).map { _ in "g\(random.next() % UInt64(count))" }).sorted()
            let graph = Self.graph(direct: direct, parents: parents)
            let limit = 1 + Int(random.next() % 5)
            let all = graph.paths(limit: limit)
            let targets = Set((0..<(1 + Int(random.next() % 3))).map { _ in Self.key("g\(random.next() % UInt64(count + 2))") })
            let chosen = graph.paths(limit: limit, to: targets)
            #expect(chosen == all.filter { targets.contains($0.key) }, "round \(round): \(parents), direct \(direct), targets \(targets)")
        }
        #expect(Self.graph(direct: ["a"], parents: [:]).paths(to: [Self.key("elsewhere")]).isEmpty)
    }

    @Test("a user without nesting above (no parents at all) gets the paths the full walk finds, repeated direct groups too")
    func pathsWithoutNesting() {
        var random = SplitMix64(seed: 11)
        for round in 0..<200 {
            let count = 1 + Int(random.next() % 8)
            let direct = (0..<(1 + Int(random.next() % 5))).map { _ in "g\(random.next() % UInt64(count))" }
            let flat = Self.graph(direct: direct, parents: [:])
            // The same graph through the general walk: an entry per group, each with no parent.
            let walked = Self.graph(direct: direct, parents: Dictionary(uniqueKeysWithValues: Set(direct).map { ($0, [String]()) }))
            let limit = 1 + Int(random.next() % 3)
            #expect(flat.paths(limit: limit) == walked.paths(limit: limit), "round \(round): \(direct)")
            let targets = Set((0..<(1 + Int(random.next() % 3))).map { _ in Self.key("g\(random.next() % UInt64(count + 1))") })
            #expect(flat.paths(limit: limit, to: targets) == walked.paths(limit: limit, to: targets), "round \(round): \(direct), \(targets)")
        }
    }

    @Test("an address at a domain: the same answer as the lower-cased address set, ASCII and not")
    func addressDomains() {
        let users = [
            DirectoryUser(id: "1", dn: "uid=a,dc=x", mail: "Alice@Partner.Example", aliases: ["a@other.example"]),
            DirectoryUser(id: "2", dn: "uid=b,dc=x", mail: nil, aliases: ["b@PARTNER.example", "b@"]),
            DirectoryUser(id: "3", dn: "uid=c,dc=x", mail: "c@Bücher.Example", aliases: ["no-at-sign", "x@y@partner.example"]),
            DirectoryUser(id: "4", dn: "uid=d,dc=x", mail: "d@partner.example.evil", aliases: []),
            DirectoryUser(id: "5", dn: "uid=e,dc=x", mail: "e@ΣΊΣΥΦΟΣ.example", aliases: []),
        ]
        let domains = ["partner.example", "PARTNER.EXAMPLE", "other.example", "bücher.example", "BÜCHER.EXAMPLE", "example", "", "σίσυφος.example", "y@partner.example"]
        for user in users {
            let info = UserInfo(directory: "corp", user: user)
            for domain in domains {
                let expected = info.addresses.contains { MailAddress.domain(of: $0) == domain.lowercased() }
                #expect(info.hasAddress(inDomain: domain) == expected, "\(user.id) at \(domain)")
            }
        }
        #expect(UserInfo(directory: "corp", user: users[0]).hasAddress(inDomain: "partner.example"))
        #expect(!UserInfo(directory: "corp", user: users[3]).hasAddress(inDomain: "partner.example"))
    }

    @Test(
        "conflicting policy pairs",
        arguments: [
            (Policy.Kind.permittedSenders, Policy.AppliesTo.recipients, Policy.Kind.blockedSenders, Policy.AppliesTo.both, false, "permitted-and-blocked"),
            (.permittedSenders, .recipients, .blockedSenders, .senders, false, nil),
            (.contentExamination, .both, .contentExaminationBypass, .both, true, "everyone-overridden"),
            (.contentExamination, .senders, .contentExaminationBypass, .senders, false, "examination-and-bypass"),
            (.spamScanning, .both, .permittedSenders, .both, false, nil),
        ] as [(Policy.Kind, Policy.AppliesTo, Policy.Kind, Policy.AppliesTo, Bool, String?)])
    func conflicts(first: Policy.Kind, firstDirection: Policy.AppliesTo, second: Policy.Kind, secondDirection: Policy.AppliesTo, everyone: Bool, kind: String?) {
        let policies = [
            Policy(name: "one", type: first, appliesTo: firstDirection, targets: everyone ? [] : [.group("g")], everyone: everyone),
            Policy(name: "two", type: second, appliesTo: secondDirection, targets: [.group("g")], everyone: false),
        ]
        #expect(Coverage.conflicts(among: policies).first?.kind.rawValue == kind)
    }

    @Test("proxyAddresses: SMTP values are addresses, other types are not")
    func aliases() {
        #expect(MailAddress.aliases(["SMTP:Alice@Example.com", "smtp:a@example.com", "X500:/o=x/cn=a", "sip:a@x", "b@example.com"])
            == ["Alice@Example.com", "a@example.com", "b@example.com"])
        #expect(MailAddress.domain(of: "a@Example.COM") == "example.com")
    }
    @Test("names compare case-insensitively as Foundation does, on the ASCII fast path too")
    func caseInsensitiveNames() {
        let pairs = [
            ("Permitted Senders", "permitted senders"), ("PERMITTED", "permitted"), ("Permitted", "Permitted "),
            ("a@b", "a`b"), ("[x]", "{x}"), ("Z", "z"), ("policy1", "policy2"), ("", ""), ("", "x"),
            ("Straße", "STRASSE"), ("Émile", "émile"), ("Émile", "Emile"), ("\u{212A}elvin", "kelvin"), ("ǅ", "ǆ"),
        ]
        for (left, right) in pairs {
            let foundation = left.compare(right, options: .caseInsensitive) == .orderedSame
            #expect(left.caseInsensitiveEquals(right) == foundation, "\(left) vs \(right)")
            #expect(right.caseInsensitiveEquals(left) == foundation, "\(right) vs \(left)")
        }
    }

    @Test("groups named only in queries are kept once resolved, up to a bound")
    func resolvedGroupMemo() {
        let memo = ResolvedGroupMemo()
        let group = ResolvedGroup(spec: "sales", groups: [], nested: [], hasUsers: false)
        memo["sales"] = group
        #expect(memo["sales"]?.spec == "sales")
        #expect(memo["other"] == nil)
        for index in 0..<ResolvedGroupMemo.limit { memo["g\(index)"] = group }
        #expect(memo.count <= ResolvedGroupMemo.limit, "never more than the bound")
        #expect(memo["g\(ResolvedGroupMemo.limit - 1)"] != nil, "the newest stays")
    }
}

