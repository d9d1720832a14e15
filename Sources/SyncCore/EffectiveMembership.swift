/// Effective (transitive) membership over nested groups, safe against cycles.
public struct EffectiveMembership: Sendable {
    private let snapshot: Snapshot

    public init(_ snapshot: Snapshot) {
        self.snapshot = snapshot
    }

    /// Every user that is a member of `groupID` directly or through nested groups.
    /// Each group is visited once, so a cycle (A ∋ B ∋ A) ends and its members count once.
    public func users(of groupID: String) -> Set<String> {
        var users = Set<String>()
        var visited: Set<String> = [groupID]
        var pending = [groupID]
        while let group = pending.popLast() {
            for member in snapshot.members[group] ?? [] {
                switch member.kind {
                case .user:
                    users.insert(member.id)
                case .group:
                    if visited.insert(member.id).inserted { pending.append(member.id) }
                }
            }
        }
        return users
    }

    /// Every group that contains `groupID` directly or indirectly, including itself.
    public static func ancestors(of groupIDs: Set<String>, in snapshot: Snapshot) -> Set<String> {
        var parents: [String: [String]] = [:]
        for (group, refs) in snapshot.members {
            for ref in refs where ref.kind == .group { parents[ref.id, default: []].append(group) }
        }
        var result = groupIDs
        var pending = Array(groupIDs)
        while let group = pending.popLast() {
            for parent in parents[group] ?? [] where result.insert(parent).inserted {
                pending.append(parent)
            }
        }
        return result
    }
}
