import SyncCore

/// Everything that applies to one user, with the paths by which it applies: groups (direct
/// and nested), profile groups, policies, relay profiles, and the conflicts among policies.
public struct Coverage: Sendable {
    public struct GroupHit: Sendable {
        public var group: GroupInfo
        public var direct: Bool
        public var paths: [MembershipPath]
    }

    public struct Hit: Sendable {
        public var name: String
        public var paths: [MembershipPath]
    }

    public struct PolicyHit: Sendable {
        public var policy: Policy
        public var paths: [MembershipPath]
        /// What the policy reaches the user through: the last hop before the policy.
        public var via: [String] { Array(Set(paths.compactMap { $0.dropLast().last?.name })).sorted() }
    }

    public struct RelayHit: Sendable {
        public var profile: RelayProfile
        public var paths: [MembershipPath]
    }

    public struct Conflict: Sendable, Hashable {
        public enum Kind: String, Sendable {
            case permittedAndBlocked = "permitted-and-blocked"
            case examinationAndBypass = "examination-and-bypass"
            case everyoneOverridden = "everyone-overridden"
        }

        public var kind: Kind
        public var policies: [String]
        public var message: String
    }

    public var user: UserInfo
    public var groups: [GroupHit]
    public var profileGroups: [Hit]
    public var policies: [PolicyHit]
    public var relayProfiles: [RelayHit]
    public var conflicts: [Conflict]

    /// Paths kept per group or target; enough to explain, bounded on dense nesting.
    public static let pathLimit = 5

    public init(_ graph: UserGraph, policies resolved: ResolvedPolicies) {
        var matcher = Matcher(graph: graph, resolved: resolved)
        user = graph.user
        let direct = Set(graph.direct)
        groups = matcher.groupPaths.map { key, paths in
            GroupHit(group: graph.groups[key]!, direct: direct.contains(key), paths: paths.map(matcher.path))
        }.sorted { ($0.direct ? 0 : 1, $0.paths.first?.count ?? 0, $0.group.name) < ($1.direct ? 0 : 1, $1.paths.first?.count ?? 0, $1.group.name) }
        var profileGroups: [Hit] = []
        for group in resolved.policySet.profileGroups {
            let paths = matcher.profileGroupPaths(group.name)
            if !paths.isEmpty { profileGroups.append(Hit(name: group.name, paths: paths)) }
        }
        self.profileGroups = profileGroups
        var policies: [PolicyHit] = []
        for policy in resolved.policySet.policies {
            let paths = matcher.policyPaths(policy)
            if !paths.isEmpty { policies.append(PolicyHit(policy: policy, paths: paths)) }
        }
        self.policies = policies
        var relays: [RelayHit] = []
        for profile in resolved.policySet.relayProfiles {
            let paths = matcher.match(profile.senders).map { $0 + [PathStep(.relayProfile, profile.name)] }
            if !paths.isEmpty { relays.append(RelayHit(profile: profile, paths: paths)) }
        }
        relayProfiles = relays
        conflicts = Self.conflicts(among: policies.map(\.policy))
    }

    /// Pairs of policies of opposite effect that both apply, in overlapping directions.
    public static func conflicts(among policies: [Policy]) -> [Conflict] {
        var result: [Conflict] = []
        for (index, first) in policies.enumerated() {
            for second in policies[(index + 1)...] {
                guard first.type.opposite == second.type, first.appliesTo.overlaps(second.appliesTo) else { continue }
                result.append(conflict(first, second))
            }
        }
        return result
    }

    static func conflict(_ first: Policy, _ second: Policy) -> Conflict {
        let names = [first.name, second.name]
        if first.everyone != second.everyone {
            let (everyone, targeted) = first.everyone ? (first, second) : (second, first)
            return Conflict(
                kind: .everyoneOverridden, policies: names,
                message: "\(everyone.name) (\(everyone.type.rawValue)) applies to everyone and \(targeted.name) "
                    + "(\(targeted.type.rawValue)) to this user too: which one wins depends on the gateway's policy order")
        }
        let kind: Conflict.Kind = [first.type, second.type].contains(.blockedSenders) ? .permittedAndBlocked : .examinationAndBypass
        return Conflict(
            kind: kind, policies: names,
            message: "both \(first.name) (\(first.type.rawValue)) and \(second.name) (\(second.type.rawValue)) apply, "
                + "for \(first.appliesTo == second.appliesTo ? first.appliesTo.rawValue : "overlapping directions")")
    }
}

/// Matches member specs against one user's graph, with the paths.
struct Matcher {
    let graph: UserGraph
    let resolved: ResolvedPolicies
    /// Paths to the groups above the user: every group's at once (`explain` lists them all),
    /// or only those of groups a question matches, found when first asked (`verify`).
    private(set) var groupPaths: [GroupKey: [[GroupKey]]]
    private let allPaths: Bool
    let userStep: PathStep
    /// The user's addresses, lower-cased; made when an address spec first asks.
    private var addressSet: Set<String>?
    /// Paths to profile groups by their position in the policy set.
    private var profileGroupCache: [Int: [MembershipPath]] = [:]

    init(graph: UserGraph, resolved: ResolvedPolicies, allPaths: Bool = true) {
        self.graph = graph
        self.resolved = resolved
        self.allPaths = allPaths
        groupPaths = allPaths ? graph.paths(limit: Coverage.pathLimit) : [:]
        userStep = PathStep(.user, graph.user.user.label)
    }

    var addresses: Set<String> {
        mutating get {
            if let addressSet { return addressSet }
            let made = graph.user.addresses
            addressSet = made
            return made
        }
    }

    func path(_ groups: [GroupKey]) -> MembershipPath {
        [userStep] + groups.map { PathStep(.group, graph.groups[$0]?.name ?? $0.id) }
    }

    mutating func groupMatch(_ resolved: ResolvedGroup) -> [MembershipPath] {
        if !allPaths {
            // A group above the user always has a path; one without an entry is not computed yet.
            var missing: [GroupKey] = []
            for key in resolved.keys where groupPaths[key] == nil && graph.groups[key] != nil {
                missing.append(key)
            }
            if !missing.isEmpty {
                groupPaths.merge(graph.paths(limit: Coverage.pathLimit, to: missing)) { old, _ in old }
            }
        }
        return resolved.keys.flatMap { (groupPaths[$0] ?? []).map(path) }
    }

    /// `visiting`: the profile groups (by position) the match is inside, which it does not enter again.
    mutating func match(_ specs: [MemberSpec], visiting: [Int] = []) -> [MembershipPath] {
        var paths: [MembershipPath] = []
        for spec in specs {
            switch spec {
            case .group(let name):
                paths += groupMatch(resolved.resolvedGroup(name))
            case .user(let name):
                if resolved.users(name).contains(graph.user.key) { paths.append([userStep]) }
            case .address(let address):
                if addresses.contains(address.lowercased()) { paths.append([userStep, PathStep(.address, address)]) }
            case .domain(let domain):
                if graph.user.hasAddress(inDomain: domain) {
                    paths.append([userStep, PathStep(.domain, domain)])
                }
            case .profileGroup(let name):
                guard let index = resolved.profileGroupIndex(named: name), !visiting.contains(index) else { continue }
                paths += profileGroupPaths(at: index, visiting: visiting)
            }
        }
        if paths.count < 2 { return paths }
        return Array(paths.sorted { $0.count < $1.count }.prefix(Coverage.pathLimit))
    }

    mutating func profileGroupPaths(_ name: String) -> [MembershipPath] {
        guard let index = resolved.profileGroupIndex(named: name) else { return [] }
        return profileGroupPaths(at: index, visiting: [])
    }

    private mutating func profileGroupPaths(at index: Int, visiting: [Int]) -> [MembershipPath] {
        if let cached = profileGroupCache[index] { return cached }
        guard mayMatch(resolved.profileGroupReach[index]) else { return [] }
        let group = resolved.policySet.profileGroups[index]
        let paths = match(group.members, visiting: visiting + [index]).map { $0 + [PathStep(.profileGroup, group.name)] }
        profileGroupCache[index] = paths
        return paths
    }

    /// Whether the user meets anything `reachable` holds; when not, matching its specs finds
    /// no path (see ``ResolvedPolicies/Reachable``).
    private mutating func mayMatch(_ reachable: ResolvedPolicies.Reachable) -> Bool {
        if reachable.groups.count < graph.groups.count {
            for key in reachable.groups where graph.groups[key] != nil { return true }
        } else {
            for key in graph.groups.keys where reachable.groups.contains(key) { return true }
        }
        if !reachable.users.isEmpty, reachable.users.contains(graph.user.key) { return true }
        for domain in reachable.domains where graph.user.hasAddress(inDomain: domain) { return true }
        return !reachable.addresses.isEmpty && !reachable.addresses.isDisjoint(with: addresses)
    }

    mutating func policyPaths(_ policy: Policy) -> [MembershipPath] {
        let step = PathStep(.policy, policy.name)
        if policy.everyone { return [[userStep, PathStep(.everyone, "everyone"), step]] }
        return match(policy.targets).map { $0 + [step] }
    }
}
