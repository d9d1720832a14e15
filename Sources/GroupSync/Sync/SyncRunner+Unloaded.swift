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
        let storedEdges = try store.groupEdges(directory: directory)
        // Nesting before (the store) and after (what was read, and the store for unloaded groups).
        var children: [String: Set<String>] = storedEdges
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
        let above = closure(from: touched, along: parents)
        let needed = closure(from: above, along: children).intersection(wanted.unloadedGroups)
        guard !needed.isEmpty else { return }
        for (group, members) in try store.members(directory: directory, groupIDs: needed) {
            wanted.members[group] = members.isEmpty ? nil : members
            wanted.unloadedGroups.remove(group)
        }
    }

    private func closure(from start: Set<String>, along edges: [String: Set<String>]) -> Set<String> {
        var result = start
        var pending = Array(start)
        while let group = pending.popLast() {
            for next in edges[group] ?? [] where result.insert(next).inserted { pending.append(next) }
        }
        return result
    }
}
