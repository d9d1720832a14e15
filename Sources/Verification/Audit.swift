/// Set-based answers over the whole snapshot: the landing report of every intent and the
/// policy lint. Where ``Verifier`` walks up from one user, this walks down from the targets,
/// so an intent over a group of 60,000 users costs one pass, not 60,000 queries.
public struct PolicyAudit {
    public let resolved: ResolvedPolicies
    let catalog: any Catalog
    private var groupUsers: [String: Set<Int64>] = [:]
    private var addressUsers: [String: Set<Int64>] = [:]

    public init(_ resolved: ResolvedPolicies, catalog: any Catalog) {
        self.resolved = resolved
        self.catalog = catalog
    }

    // MARK: Landing

    /// One row of the landing report: one user of an intent and one expected target.
    public struct Landing: Sendable, Equatable {
        public var intent: String
        /// `directory/id`, or `?name` for a name that matches no user.
        public var userKey: String
        public var userLabel: String
        public var target: Target
        public var landed: Bool
        public var reason: Reason?

        public init(intent: String, userKey: String, userLabel: String, target: Target, landed: Bool, reason: Reason? = nil) {
            self.intent = intent
            self.userKey = userKey
            self.userLabel = userLabel
            self.target = target
            self.landed = landed
            self.reason = reason
        }
    }

    /// Evaluates every intent. `filterMatches` holds, per intent with a `filter:` selector,
    /// the users the directories returned for it at sync time.
    public mutating func landings(filterMatches: [String: [UserKey]] = [:]) throws -> [Landing] {
        var rows: [Landing] = []
        for intent in resolved.policySet.intents {
            var users: [UserInfo] = []
            var unknown: [String] = []
            switch intent.selector {
            case .users(let names):
                for name in names {
                    let found = try catalog.users(matching: name)
                    if found.isEmpty { unknown.append(name) } else { users += found }
                }
            case .group(let name):
                users = try catalog.effectiveUsers(of: resolved.resolvedGroup(name).keys)
            case .filter:
                users = try catalog.users(keys: filterMatches[intent.name] ?? [])
            }
            var seen = Set<UserKey>()
            users = users.filter { seen.insert($0.key).inserted }.sorted { $0.user.label < $1.user.label }
            for target in intent.expect {
                let covered = try coveredUsers(target)
                for name in unknown {
                    let reason = Verifier.unknownUser(name, targets: [target], closeMatches: [])[0].reason
                    rows.append(Landing(intent: intent.name, userKey: "?\(name)", userLabel: name, target: target, landed: false, reason: reason))
                }
                var reach: ResolvedPolicies.Reach?
                for user in users {
                    let label = user.user.label
                    var row = Landing(intent: intent.name, userKey: user.key.description, userLabel: label, target: target, landed: false)
                    if user.user.disabled {
                        row.reason = Reason(.userDisabled, "\(label) is disabled in the directory")
                    } else if covered == nil || covered!.contains(user.ref) {
                        row.landed = true
                    } else {
                        if reach == nil {
                            // Once per target: its names and message text serve every user who missed it.
                            var made = try resolved.reach(target, catalog: catalog)
                            made.settle(describing: target.description)
                            reach = made
                        }
                        row.reason = Verifier.reason(label: label, target: target, reach: reach!)
                    }
                    rows.append(row)
                }
            }
        }
        return rows
    }

    /// The users a target covers, by ref; nil for everyone.
    mutating func coveredUsers(_ target: Target) throws -> Set<Int64>? {
        switch target {
        case .group(let name): return try users(ofGroup: name)
        case .profileGroup(let name): return try coveredUsers([.profileGroup(name)])
        case .policy(let name):
            guard let policy = resolved.policySet.policy(named: name) else { return [] }
            return policy.everyone ? nil : try coveredUsers(policy.targets)
        }
    }

    mutating func coveredUsers(_ specs: [MemberSpec], visiting: Set<String> = []) throws -> Set<Int64> {
        var result = Set<Int64>()
        // The first set is taken as it is, not copied element by element (60,000 users of a
        // large group cost 5 ms to copy).
        func add(_ users: Set<Int64>) { if result.isEmpty { result = users } else { result.formUnion(users) } }
        for spec in specs {
            switch spec {
            case .group(let name): add(try users(ofGroup: name))
            case .user(let name): add(Set(try catalog.users(keys: resolved.users(name)).map(\.ref)))
            case .address(let address): add(try users(addresses: [address], domains: []))
            case .domain(let domain): add(try users(addresses: [], domains: [domain]))
            case .profileGroup(let name):
                guard !visiting.contains(name.lowercased()), let group = resolved.policySet.profileGroup(named: name) else { continue }
                add(try coveredUsers(group.members, visiting: visiting.union([name.lowercased()])))
            }
        }
        return result
    }

    private mutating func users(ofGroup name: String) throws -> Set<Int64> {
        if let cached = groupUsers[name.lowercased()] { return cached }
        let group = try resolved.group(name, catalog: catalog)
        let users = group.isGone ? [] : try catalog.effectiveUserRefs(of: group.keys)
        groupUsers[name.lowercased()] = users
        return users
    }

    private mutating func users(addresses: [String], domains: [String]) throws -> Set<Int64> {
        let key = (addresses.map { "a:" + $0 } + domains.map { "d:" + $0 }).joined(separator: ",").lowercased()
        if let cached = addressUsers[key] { return cached }
        let users = Set(try catalog.userRefs(withAddresses: addresses, domains: domains))
        addressUsers[key] = users
        return users
    }
}
