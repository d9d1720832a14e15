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
        func effective(_ groups: Set<String>) -> Set<String> {
            groups.reduce(into: Set<String>()) { $0.formUnion(closure($1)) }
        }
        for user in Set(added.keys).union(removed.keys) {
            let before = directGroups[user] ?? []
            let after = before.subtracting(removed[user] ?? []).union(added[user] ?? [])
            let old = effective(before), new = effective(after)
            for group in new.subtracting(old) { delta.gained.append(EffectiveChange(userID: user, groupID: group)) }
            for group in old.subtracting(new) { delta.lost.append(EffectiveChange(userID: user, groupID: group)) }
        }
        delta.gained.sort()
        delta.lost.sort()
        return delta
    }
}
