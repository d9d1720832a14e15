import LDAPClient
import SyncConfig
import SyncCore

/// Why a plan that removes a lot probably does: the usual accidents behind a mass removal
/// (an OU emptied or moved, a group cleared, read access to members lost), named so the
/// admin knows where to look before reaching for `--force`.
enum LikelyCauses {
    /// Sentences for a stopped run's message; empty when nothing stands out.
    /// `partial`: the snapshots are an incremental run's (only what changed and around it).
    static func of(_ plan: Plan, wanted: Snapshot, currentMemberships: Int, partial: Bool, directory: DirectoryConfig) -> [String] {
        var causes: [String] = []
        if let (parent, count) = concentration(plan.usersRemoved.map(\.dn)) {
            causes.append(
                "\(count) of the \(plan.usersRemoved.count) users it would remove were under \(parent): "
                    + "if that OU was emptied, renamed or moved out of users.base (\(directory.users.base)) by mistake, restore it")
        }
        if let (parent, count) = concentration(plan.groupsRemoved.map(\.dn)) {
            causes.append(
                "\(count) of the \(plan.groupsRemoved.count) groups it would remove were under \(parent): "
                    + "if that OU was emptied, renamed or moved out of groups.base (\(directory.groups.base)) by mistake, restore it")
        }
        if !partial, !wanted.groups.isEmpty, wanted.membershipCount == 0, currentMemberships > 0 {
            causes.append(
                "every group came back without members: the bind account may have lost read access to the member attribute")
        } else if let (group, count) = emptiedGroup(plan, wanted: wanted) {
            causes.append("\(count) of the membership removals empty the group \(group): was it cleared by mistake?")
        }
        return causes
    }

    /// The parent DN most of `dns` share, when at least two and at least half of them do.
    static func concentration(_ dns: [String]) -> (parent: String, count: Int)? {
        guard dns.count >= 2 else { return nil }
        var counts: [DistinguishedName: Int] = [:]
        for dn in dns {
            guard let parent = (try? DistinguishedName(dn))?.parent else { continue }
            counts[parent, default: 0] += 1
        }
        guard let (parent, count) = counts.max(by: { $0.value < $1.value }), count * 2 >= dns.count else { return nil }
        return (parent.description, count)
    }

    /// A group the plan empties that accounts for at least half of the membership removals.
    static func emptiedGroup(_ plan: Plan, wanted: Snapshot) -> (name: String, count: Int)? {
        guard plan.membershipsRemoved.count >= 2 else { return nil }
        var counts: [String: Int] = [:]
        for removal in plan.membershipsRemoved { counts[removal.groupID, default: 0] += 1 }
        let emptied = counts.filter { id, _ in
            wanted.groups[id] != nil && (wanted.members[id] ?? []).isEmpty && !wanted.unloadedGroups.contains(id)
        }
        guard let (id, count) = emptied.max(by: { $0.value < $1.value }), count * 2 >= plan.membershipsRemoved.count,
            let group = wanted.groups[id]
        else { return nil }
        return (group.name, count)
    }
}
