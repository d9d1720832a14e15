import Synchronization

/// A directory group as named in the configuration or on the command line, resolved
/// against the snapshot.
public struct ResolvedGroup: Sendable {
    /// The DN or name as written.
    public let spec: String
    /// The groups it names (usually one; a name may match a group in several directories).
    public let groups: [GroupInfo]
    /// The groups nested in them, at any depth.
    public let nested: [GroupInfo]
    /// Whether any user is in them, directly or through nesting.
    public let hasUsers: Bool

    /// The keys of ``groups``, in order (made once: every question matching the group asks).
    public let keys: [GroupKey]

    public var isGone: Bool { groups.isEmpty }

    public init(spec: String, groups: [GroupInfo], nested: [GroupInfo], hasUsers: Bool) {
        self.spec = spec
        self.groups = groups
        self.nested = nested
        self.hasUsers = hasUsers
        keys = groups.map(\.key)
    }
}

/// The configuration's policies with every directory group and user they name looked up in
/// the snapshot, once: a verification query then costs only the user's own groups.
public struct ResolvedPolicies: Sendable {
    public let policySet: PolicySet
    private(set) var groupSpecs: [String: ResolvedGroup] = [:]
    /// ``groupSpecs`` by the spec exactly as the configuration writes it: the lookup every
    /// question makes, without lower-casing the spec first.
    private var writtenGroupSpecs: [String: ResolvedGroup] = [:]
    private(set) var userSpecs: [String: [UserKey]] = [:]
    /// Profile groups' positions in ``policySet`` by their names as written and lower-cased.
    private var profileGroupIndexes: [String: Int] = [:]
    /// What each profile group can match a user through, by position.
    private(set) var profileGroupReach: [Reachable] = []

    public init(_ policySet: PolicySet, catalog: some Catalog) throws {
        self.policySet = policySet
        var specs: [MemberSpec] = []
        for group in policySet.profileGroups { specs += group.members }
        for relay in policySet.relayProfiles { specs += relay.senders }
        for policy in policySet.policies { specs += policy.targets }
        for intent in policySet.intents {
            for case .group(let name) in intent.expect { specs.append(.group(name)) }
            if case .group(let name) = intent.selector { specs.append(.group(name)) }
        }
        for spec in specs {
            switch spec {
            case .group(let name) where groupSpecs[name.lowercased()] == nil:
                groupSpecs[name.lowercased()] = try Self.resolveGroup(name, catalog: catalog)
            case .user(let name) where userSpecs[name.lowercased()] == nil:
                userSpecs[name.lowercased()] = try catalog.users(matching: name).map(\.key)
            default:
                break
            }
            if case .group(let name) = spec { writtenGroupSpecs[name] = groupSpecs[name.lowercased()] }
        }
        for (index, group) in policySet.profileGroups.enumerated().reversed() {
            profileGroupIndexes[group.name.lowercased()] = index
            profileGroupIndexes[group.name] = index
        }
        profileGroupReach = policySet.profileGroups.map { group in
            var reachable = Reachable()
            var entered = Set<Int>()
            collect(group.members, into: &reachable, entered: &entered)
            return reachable
        }
    }

    /// Everything member specs can match a user through, flattened through profile groups:
    /// a user whose graph, name and addresses meet none of it matches the specs by no path,
    /// which a question tells from a few lookups instead of building paths (most users are
    /// not in a given profile group).
    struct Reachable: Sendable {
        /// The directory groups the specs name (a user under one of them is matched).
        var groups = Set<GroupKey>()
        var users = Set<UserKey>()
        /// Lower-cased.
        var addresses = Set<String>()
        var domains: [String] = []
    }

    private func collect(_ specs: [MemberSpec], into reachable: inout Reachable, entered: inout Set<Int>) {
        for spec in specs {
            switch spec {
            case .group(let name): reachable.groups.formUnion(resolvedGroup(name).keys)
            case .user(let name): reachable.users.formUnion(users(name))
            case .address(let address): reachable.addresses.insert(address.lowercased())
            case .domain(let domain): reachable.domains.append(domain)
            case .profileGroup(let name):
                guard let index = profileGroupIndex(named: name), entered.insert(index).inserted else { continue }
                collect(policySet.profileGroups[index].members, into: &reachable, entered: &entered)
            }
        }
    }

    /// The position of the profile group `name` names in ``policySet``'s list, as
    /// ``PolicySet/profileGroup(named:)`` finds it.
    func profileGroupIndex(named name: String) -> Int? {
        if let index = profileGroupIndexes[name] { return index }
        return policySet.profileGroups.firstIndex { $0.name.caseInsensitiveEquals(name) }
    }

    /// A group spec from the configuration (resolved up front), or any other (looked up now).
    public func group(_ spec: String, catalog: some Catalog) throws -> ResolvedGroup {
        let key = spec.lowercased()
        if let resolved = groupSpecs[key] { return resolved }
        if let memo, let resolved = memo[key] { return resolved }
        let resolved = try Self.resolveGroup(spec, catalog: catalog)
        memo?[key] = resolved
        return resolved
    }

    /// Where groups named only in queries are kept once resolved; set when every query
    /// goes to the same unchanging catalog (the daemon's in-memory index), nil otherwise.
    public var memo: ResolvedGroupMemo?

    func resolvedGroup(_ spec: String) -> ResolvedGroup {
        writtenGroupSpecs[spec] ?? groupSpecs[spec.lowercased()] ?? ResolvedGroup(spec: spec, groups: [], nested: [], hasUsers: false)
    }

    func users(_ spec: String) -> [UserKey] { userSpecs[spec.lowercased()] ?? [] }

    static func resolveGroup(_ spec: String, catalog: some Catalog) throws -> ResolvedGroup {
        let groups = try catalog.groups(matching: spec)
        guard !groups.isEmpty else { return ResolvedGroup(spec: spec, groups: [], nested: [], hasUsers: false) }
        let nested = try catalog.nestedGroups(of: groups.map(\.key))
        let hasUsers = try catalog.hasUserMembers(groups.map(\.key) + nested.map(\.key))
        return ResolvedGroup(spec: spec, groups: groups, nested: nested, hasUsers: hasUsers)
    }

    /// What a member spec reaches, through profile groups: directory groups (found, gone,
    /// empty) and other members (users, addresses, domains).
    func reach(_ specs: [MemberSpec], visiting: Set<String> = []) -> Reach {
        var reach = Reach()
        for spec in specs {
            switch spec {
            case .group(let name):
                let resolved = resolvedGroup(name)
                if resolved.isGone {
                    reach.gone.append(name)
                } else {
                    reach.groups += resolved.groups + resolved.nested
                    if resolved.hasUsers { reach.hasUsers = true } else { reach.empty.append(name) }
                }
            case .user(let name):
                if users(name).isEmpty { reach.unknownUsers.append(name) } else { reach.others += 1 }
            case .address, .domain:
                reach.others += 1
            case .profileGroup(let name):
                guard !visiting.contains(name.lowercased()), let group = policySet.profileGroup(named: name) else { continue }
                let inner = self.reach(group.members, visiting: visiting.union([name.lowercased()]))
                reach.groups += inner.groups
                reach.gone += inner.gone
                reach.empty += inner.empty
                reach.unknownUsers += inner.unknownUsers
                reach.others += inner.others
                reach.hasUsers = reach.hasUsers || inner.hasUsers
            }
        }
        return reach
    }

    /// The directory group specs (DNs or names) through which one lands in a target.
    public func groupSpecs(of target: Target) -> [String] {
        func specs(_ members: [MemberSpec], _ visiting: Set<String>) -> [String] {
            members.flatMap { spec -> [String] in
                switch spec {
                case .group(let name): return [name]
                case .profileGroup(let name):
                    guard !visiting.contains(name.lowercased()), let group = policySet.profileGroup(named: name) else { return [] }
                    return specs(group.members, visiting.union([name.lowercased()]))
                default: return []
                }
            }
        }
        switch target {
        case .group(let name): return [name]
        case .profileGroup(let name): return specs([.profileGroup(name)], [])
        case .policy(let name): return specs(policySet.policy(named: name)?.targets ?? [], [])
        }
    }

    /// What a target a user missed reaches, for the reason (the same for every user): kept
    /// in the memo when there is one, else made by `compute`.
    func missReach(_ target: Target, compute: () throws -> Reach) throws -> Reach {
        if let memo, let reach = memo.reach(of: target) { return reach }
        var reach = try compute()
        reach.settle(describing: target.description)
        memo?.setReach(reach, of: target)
        return reach
    }

    /// What a target reaches (see ``reach(_:visiting:)``).
    func reach(_ target: Target, catalog: some Catalog) throws -> Reach {
        switch target {
        case .group(let name):
            return Reach(try self.group(name, catalog: catalog), as: name)
        case .profileGroup(let name):
            return reach([.profileGroup(name)])
        case .policy(let name):
            guard let policy = policySet.policy(named: name) else { return Reach() }
            return policy.everyone ? Reach(others: 1, hasUsers: true) : reach(policy.targets)
        }
    }

    struct Reach {
        /// What one directory group reaches: itself and its nested groups. `name` is how
        /// the question named it.
        init(_ group: ResolvedGroup, as name: String) {
            if group.isGone {
                gone = [name]
            } else {
                groups = group.groups + group.nested
                hasUsers = group.hasUsers
                if !group.hasUsers { empty = [name] }
            }
        }

        init(groups: [GroupInfo] = [], gone: [String] = [], empty: [String] = [], unknownUsers: [String] = [], others: Int = 0, hasUsers: Bool = false) {
            self.groups = groups
            self.gone = gone
            self.empty = empty
            self.unknownUsers = unknownUsers
            self.others = others
            self.hasUsers = hasUsers
        }

        var groups: [GroupInfo] = []
        var gone: [String] = []
        var empty: [String] = []
        var unknownUsers: [String] = []
        /// Users, addresses and domains that resolve.
        var others = 0
        var hasUsers = false

        /// The names of ``groups``, each group once, in order; computed once by ``settle(describing:)``.
        var groupNames: [String] {
            if let settledNames { return settledNames }
            var names: [String] = []
            var seen = Set<GroupKey>()
            for group in groups where seen.insert(group.key).inserted { names.append(group.name) }
            return names
        }

        private var settledNames: [String]?
        private var settledText: (middle: String, end: String)?

        /// Computes the group names and the miss message's text once, for a reach that many
        /// answers share; `what` describes the target this reach is of.
        mutating func settle(describing what: String) {
            settledNames = groupNames
            settledText = Verifier.notAMemberText(names: groupNames, others: others, describing: what)
        }

        /// ``Verifier/notAMemberText(names:others:describing:)`` for this reach: the settled
        /// text, or made now (`what` is only described then).
        func notAMemberText(describing what: @autoclosure () -> String) -> (middle: String, end: String) {
            settledText ?? Verifier.notAMemberText(names: groupNames, others: others, describing: what())
        }

        /// Nothing resolves at all.
        var resolvesToNothing: Bool { groups.isEmpty && others == 0 }
        /// Something resolves, but no user can be in it.
        var isEmpty: Bool { !hasUsers && others == 0 }
    }
}

/// Group specs resolved for queries against one unchanging catalog, and what missed targets
/// reach, shared by the threads that answer them. Holds at most ``limit`` of each (a caller
/// can name any string): when full, a table starts again empty.
public final class ResolvedGroupMemo: Sendable {
    public static let limit = 20_000
    private let resolved = Mutex<[String: ResolvedGroup]>([:])

    public init() {}

    subscript(key: String) -> ResolvedGroup? {
        get { resolved.withLock { $0[key] } }
        set {
            guard let newValue else { return }
            resolved.withLock { table in
                if table.count >= Self.limit { table.removeAll(keepingCapacity: true) }
                table[key] = newValue
            }
        }
    }

    public var count: Int { resolved.withLock { $0.count } }

    /// What targets reach, for the reasons of misses; bounded like the groups.
    private let reaches = Mutex<[Target: ResolvedPolicies.Reach]>([:])

    func reach(of target: Target) -> ResolvedPolicies.Reach? { reaches.withLock { $0[target] } }

    func setReach(_ reach: ResolvedPolicies.Reach, of target: Target) {
        reaches.withLock { table in
            if table.count >= Self.limit { table.removeAll(keepingCapacity: true) }
            table[target] = reach
        }
    }
}
