import Foundation
import SyncCore
import Testing
@testable import Verification

/// A few users and groups in memory: enough of a catalog to resolve policies against and
/// to give each user's graph.
struct SmallCatalog: Catalog {
    var users: [UserInfo]
    var groups: [GroupInfo]
    /// User id → direct group ids; group id → the group ids it is a member of.
    var memberOf: [String: [String]]
    var parents: [String: [String]]

    func key(_ id: String) -> GroupKey { GroupKey(directory: "corp", id: id) }

    func users(keys: [UserKey]) throws -> [UserInfo] { users.filter { keys.contains($0.key) } }
    func groups(matching name: String) throws -> [GroupInfo] { groups.filter { $0.name.lowercased() == name.lowercased() } }
    func users(matching name: String) throws -> [UserInfo] {
        users.filter { $0.user.username?.lowercased() == name.lowercased() || $0.addresses.contains(name.lowercased()) }
    }
    func nestedGroups(of groups: [GroupKey]) throws -> [GroupInfo] { [] }
    func hasUserMembers(_ groups: [GroupKey]) throws -> Bool { true }
    func effectiveUsers(of groups: [GroupKey]) throws -> [UserInfo] { [] }
    func effectiveUserRefs(of groups: [GroupKey]) throws -> Set<Int64> { [] }
    func userRefs(withAddresses addresses: [String], domains: [String]) throws -> [Int64] { [] }
    func users(refs: [Int64]) throws -> [UserInfo] { [] }
    func closeMatches(to name: String, limit: Int) throws -> [String] { [] }

    func graph(of user: UserInfo) throws -> UserGraph {
        var above: [String] = []
        var queue = memberOf[user.user.id] ?? []
        while let group = queue.popLast() {
            guard !above.contains(group) else { continue }
            above.append(group)
            queue += parents[group] ?? []
        }
        var infos: [GroupKey: GroupInfo] = [:]
        for group in groups where above.contains(group.group.id) { infos[group.key] = group }
        var edges: [GroupKey: [GroupKey]] = [:]
        for group in above where !(parents[group] ?? []).isEmpty { edges[key(group)] = parents[group]!.map(key) }
        return UserGraph(user: user, groups: infos, direct: (memberOf[user.user.id] ?? []).map(key), parents: edges)
    }
}

@Suite("Profile groups: every kind of member, nested and in a cycle")
struct ProfileGroupMatchTests {
    static func user(_ name: String, mail: String? = nil) -> UserInfo {
        UserInfo(directory: "corp", user: DirectoryUser(id: name, dn: "uid=\(name),dc=x", username: name, mail: mail))
    }

    static let catalog = SmallCatalog(
        users: [
            user("alice"), user("erin"), user("carol", mail: "carol@x.example"), user("dave", mail: "Dave@PARTNER.example"),
            user("frank", mail: "frank@elsewhere.example"), user("gina"),
        ],
        groups: ["a", "b", "c", "d"].map { GroupInfo(directory: "corp", group: DirectoryGroup(id: $0, dn: "cn=\($0),dc=x", name: $0)) },
        memberOf: ["alice": ["b"], "frank": ["d"], "gina": ["a"]],
        parents: ["b": ["c"]])

    /// Outer holds Inner and group a; Inner holds every other kind of member, and Outer
    /// again (a cycle the configuration would refuse, which matching must still survive).
    static let policies = PolicySet(
        profileGroups: [
            ProfileGroup(name: "Outer", members: [.profileGroup("inner"), .group("a")]),
            ProfileGroup(name: "Inner", members: [
                .group("c"), .user("erin"), .address("CAROL@x.example"), .domain("partner.example"), .profileGroup("OUTER"),
            ]),
        ],
        policies: [Policy(name: "Permitted", type: .permittedSenders, appliesTo: .both, targets: [.profileGroup("Outer")], everyone: false)])

    @Test(
        "each kind of member lands the user with its path; a user meeting none of them does not",
        arguments: [
            ("alice", "alice → b → c → Inner → Outer → Permitted"),
            ("erin", "erin → Inner → Outer → Permitted"),
            ("carol", "carol → CAROL@x.example → Inner → Outer → Permitted"),
            ("dave", "dave → partner.example → Inner → Outer → Permitted"),
            ("gina", "gina → a → Outer → Permitted"),
            ("frank", nil),
        ] as [(String, String?)])
    func members(name: String, path: String?) throws {
        let resolved = try ResolvedPolicies(Self.policies, catalog: Self.catalog)
        let user = try #require(try Self.catalog.users(matching: name).first)
        let graph = try Self.catalog.graph(of: user)
        let results = try Verifier(resolved).verify(
            graph, targets: [.policy("permitted"), .profileGroup("INNER")], catalog: Self.catalog)
        let policy = results[0]
        #expect(policy.landed == (path != nil))
        #expect(policy.paths.first.map { $0.map(\.name).joined(separator: " → ") } == path)
        #expect(policy.landed || policy.reason?.code == .notAMember)
        // Inner alone: everyone Outer reaches through Inner, and not gina (only in a, Outer's own).
        #expect(results[1].landed == (path != nil && name != "gina"))
        // explain's full coverage agrees with verify.
        let coverage = Coverage(graph, policies: resolved)
        #expect(coverage.policies.map(\.policy.name) == (path == nil ? [] : ["Permitted"]))
        #expect(coverage.profileGroups.map(\.name).sorted() == (path == nil ? [] : name == "gina" ? ["Outer"] : ["Inner", "Outer"]))
    }
}
