/// Who gains and who loses effective membership of which groups when only users' direct
/// memberships change (no group is nested in or taken out of another), worked out user by
/// user: a user is an effective member of exactly the groups above their direct groups.
/// The cost follows the users that changed and the depth of the nesting, not the size of
/// the groups — an incremental run after 1,000 membership changes no longer collects the
/// members of every group above the changed ones.
public struct EffectiveDelta: Sendable, Equatable {
    public var gained: [EffectiveChange] = []
    public var lost: [EffectiveChange] = []

    public init(gained: [EffectiveChange] = [], lost: [EffectiveChange] = []) {
        self.gained = gained
        self.lost = lost
    }

    /// - Parameters:
    ///   - added: user id → the groups they were added to directly.
    ///   - removed: user id → the groups they were removed from directly.
    ///   - directGroups: user id → the groups they were a direct member of before (at least
    ///     every user in `added` or `removed`).
    ///   - parents: group id → the groups that have it as a direct member (unchanged by the run).
    public static func of(
        added: [String: Set<String>], removed: [String: Set<String>], directGroups: [String: Set<String>], parents: [String: Set<String>]
    ) -> EffectiveDelta {
        var delta = EffectiveDelta()
        var above: [String: Set<String>] = [:]
        /// The group and every group above it, cycle-safe, remembered across users.
        func closure(_ group: String) -> Set<String> {
            if let known = above[group] { return known }
            var seen: Set<String> = [group]
            var pending = [group]
            while let next = pending.popLast() {
                for parent in parents[next] ?? [] where seen.insert(parent).inserted { pending.append(parent) }
            }
            above[group] = seen
            return seen
        }
        /// Whether a group is at or above one of `groups`. Most groups are in no other: they
        /// reach only themselves, without a closure built for each.
        func reaches(_ groups: Set<String>, _ target: String) -> Bool {
            if groups.contains(target) { return true }
            return groups.contains { parents[$0] != nil && closure($0).contains(target) }
        }
        for user in Set(added.keys).union(removed.keys) {
            let joined = added[user] ?? [], left = removed[user] ?? []
            let before = directGroups[user] ?? []
            let after = before.subtracting(left).union(joined)
            // Only groups at or above a group the user joined or left can change for them.
            var candidates = Set<String>()
            for group in joined.union(left) { candidates.formUnion(closure(group)) }
            for target in candidates {
                switch (reaches(before, target), reaches(after, target)) {
                case (false, true): delta.gained.append(EffectiveChange(userID: user, groupID: target))
                case (true, false): delta.lost.append(EffectiveChange(userID: user, groupID: target))
                default: break
                }
            }
        }
        delta.gained.sort()
        delta.lost.sort()
        return delta
    }
}
