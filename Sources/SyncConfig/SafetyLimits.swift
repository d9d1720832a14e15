import SyncCore

/// How much one run may delete before it stops and applies nothing (`limits:`).
public struct SafetyLimits: Sendable, Equatable {
    public enum Limit: Sendable, Equatable, CustomStringConvertible {
        case count(Int)
        /// A share of what the store holds, 0…1.
        case share(Double)

        /// The most deletions allowed out of `total` existing objects.
        public func allowed(of total: Int) -> Int {
            switch self {
            case .count(let count): count
            case .share(let share): Int((Double(total) * share).rounded(.down))
            }
        }

        public var description: String {
            switch self {
            case .count(let count): "\(count)"
            case .share(let share): "\(formatShare(share))%"
            }
        }
    }

    public var maxUserDeletions: Limit
    public var maxGroupDeletions: Limit
    public var maxMembershipDeletions: Limit

    /// 10% of each kind: the share Okta and Google Cloud Directory Sync use by default.
    public static let `default` = SafetyLimits(maxUserDeletions: .share(0.10), maxGroupDeletions: .share(0.10), maxMembershipDeletions: .share(0.10))

    public init(maxUserDeletions: Limit, maxGroupDeletions: Limit, maxMembershipDeletions: Limit) {
        self.maxUserDeletions = maxUserDeletions
        self.maxGroupDeletions = maxGroupDeletions
        self.maxMembershipDeletions = maxMembershipDeletions
    }

    /// The limits a plan exceeds, each as a sentence with the counts and the limit.
    public func violations(of plan: Plan, current: Snapshot) -> [String] {
        violations(of: plan, users: current.userCount, groups: current.groups.count, memberships: current.membershipCount)
    }

    /// The limits a plan exceeds, against the store's totals (an incremental run's snapshots
    /// hold only part of the directory).
    public func violations(of plan: Plan, users: Int, groups: Int, memberships: Int) -> [String] {
        var result: [String] = []
        func check(_ kind: String, _ key: String, removed: Int, total: Int, limit: Limit) {
            let allowed = limit.allowed(of: total)
            if removed > allowed {
                result.append("would remove \(removed) of \(total) \(kind), over \(key) = \(limit) (at most \(allowed))")
            }
        }
        check("users", "max_user_deletions", removed: plan.usersRemoved.count, total: users, limit: maxUserDeletions)
        check("groups", "max_group_deletions", removed: plan.groupsRemoved.count, total: groups, limit: maxGroupDeletions)
        check("memberships", "max_membership_deletions", removed: plan.membershipsRemoved.count, total: memberships, limit: maxMembershipDeletions)
        return result
    }
}

private func formatShare(_ share: Double) -> String {
    let percent = share * 100
    return percent == percent.rounded() ? String(Int(percent)) : String(percent)
}
