import SyncCore
import SyncStore

extension SyncRunner {
    /// Loads from the store the members of unchanged (unloaded) groups that the effective-
    /// membership report needs: every group above a group whose members changed, in the old
    /// or the new nesting, and every group below those. Elsewhere the digests suffice.
    func loadForEffectiveMembership(_ wanted: inout Snapshot, prior: Store.PriorState, directory: String) throws(StoreError) {
        let touched = Set(wanted.groups.keys.filter { group in
            !wanted.unloadedGroups.contains(group) && wanted.memberDigests[group] != prior.groups[group]?.digest
        })
        guard !touched.isEmpty else { return }
        let needed = groupsAround(touched, storedEdges: try store.groupEdges(directory: directory), wanted: wanted)
            .intersection(wanted.unloadedGroups)
        guard !needed.isEmpty else { return }
        for (group, members) in try store.members(directory: directory, groupIDs: needed) {
            wanted.members[group] = members.isEmpty ? nil : members
            wanted.unloadedGroups.remove(group)
        }
    }
}

/// The groups the effective-membership report needs around `touched`: every group above
/// them, in the nesting before (the store) or after (`wanted`'s loaded groups), and every
/// group below those.
func groupsAround(_ touched: Set<String>, storedEdges: [String: Set<String>], wanted: Snapshot) -> Set<String> {
    var children = storedEdges
    var parents: [String: Set<String>] = [:]
    for (group, members) in storedEdges {
        for member in members { parents[member, default: []].insert(group) }
    }
    for (group, members) in wanted.members where !wanted.unloadedGroups.contains(group) {
        for member in members where member.kind == .group {
            children[group, default: []].insert(member.id)
            parents[member.id, default: []].insert(group)
        }
    }
    return closure(from: closure(from: touched, along: parents), along: children)
}

/// Everything reachable from `start` along `edges` (group → groups), `start` included;
/// safe against cycles.
private func closure(from start: Set<String>, along edges: [String: Set<String>]) -> Set<String> {
    var result = start
    var pending = Array(start)
    while let group = pending.popLast() {
        for next in edges[group] ?? [] where result.insert(next).inserted { pending.append(next) }
    }
    return result
}
