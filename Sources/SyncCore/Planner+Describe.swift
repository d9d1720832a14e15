extension Planner {
    /// Fills `plan.changes` with one described change per planned write, in a stable order:
    /// users, groups, memberships, unresolved member values, then effective-membership effects.
    public static func describe(_ plan: inout Plan, wanted: Snapshot, current: Snapshot, limit: Int = defaultDescribeLimit) {
        plan.changeCount = plan.usersAdded.count + plan.usersRemoved.count + plan.usersChanged.count
            + plan.groupsAdded.count + plan.groupsRemoved.count + plan.groupsChanged.count
            + plan.membershipsAddedCount + plan.membershipsRemoved.count + plan.unresolvedAdded.count
            + plan.unresolvedRemoved.count + plan.effectiveGained.count + plan.effectiveLost.count
        func userLabel(_ id: String) -> (String, String) {
            if let user = wanted.users[id] ?? current.users[id] { return (user.label, user.dn) }
            return (id, "")
        }
        func groupLabel(_ id: String) -> (String, String) {
            if let group = wanted.groups[id] ?? current.groups[id] { return (group.name, group.dn) }
            return (id, "")
        }
        func memberLabel(_ ref: MemberRef) -> (String, String) {
            switch ref.kind {
            case .user: return userLabel(ref.id)
            case .group:
                let (name, dn) = groupLabel(ref.id)
                return ("group \(name)", dn)
            }
        }
        func fieldText(_ fields: [FieldChange]) -> String {
            fields.map { "\($0.field) \($0.before ?? "–") → \($0.after ?? "–")" }.joined(separator: "; ")
        }

        var changes: [PlannedChange] = []
        changes.reserveCapacity(min(limit, plan.changeCount))
        for user in plan.usersAdded where changes.count < limit {
            changes.append(.init(kind: .user, action: .added, objectID: user.id, dn: user.dn, summary: "add user \(user.label) (\(user.dn))"))
        }
        for user in plan.usersRemoved where changes.count < limit {
            changes.append(.init(kind: .user, action: .removed, objectID: user.id, dn: user.dn, summary: "remove user \(user.label) (\(user.dn))"))
        }
        for change in plan.usersChanged where changes.count < limit {
            changes.append(.init(
                kind: .user, action: .changed, objectID: change.after.id, dn: change.after.dn,
                summary: "change user \(change.after.label): \(fieldText(change.fields))", fields: change.fields))
        }
        for group in plan.groupsAdded where changes.count < limit {
            changes.append(.init(kind: .group, action: .added, objectID: group.id, dn: group.dn, summary: "add group \(group.name) (\(group.dn))"))
        }
        for group in plan.groupsRemoved where changes.count < limit {
            changes.append(.init(kind: .group, action: .removed, objectID: group.id, dn: group.dn, summary: "remove group \(group.name) (\(group.dn))"))
        }
        for change in plan.groupsChanged where changes.count < limit {
            changes.append(.init(
                kind: .group, action: .changed, objectID: change.after.id, dn: change.after.dn,
                summary: "change group \(change.after.name): \(fieldText(change.fields))", fields: change.fields))
        }
        if changes.count < limit {
            additions: for (group, refs) in plan.addedByGroup() {
                for ref in refs {
                    guard changes.count < limit else { break additions }
                    let (member, dn) = memberLabel(ref)
                    changes.append(.init(
                        kind: .membership, action: .added, objectID: group, dn: dn, summary: "add \(member) to group \(groupLabel(group).0)"))
                }
            }
        }
        for membership in plan.membershipsRemoved where changes.count < limit {
            let (member, dn) = memberLabel(membership.member)
            changes.append(.init(
                kind: .membership, action: .removed, objectID: membership.groupID, dn: dn,
                summary: "remove \(member) from group \(groupLabel(membership.groupID).0)"))
        }
        for value in plan.unresolvedAdded where changes.count < limit {
            changes.append(.init(
                kind: .unresolved, action: .added, objectID: value.groupID, dn: value.value,
                summary: "group \(groupLabel(value.groupID).0) has a member that matches no user or group in scope: \(value.value)"))
        }
        for value in plan.unresolvedRemoved where changes.count < limit {
            changes.append(.init(
                kind: .unresolved, action: .removed, objectID: value.groupID, dn: value.value,
                summary: "group \(groupLabel(value.groupID).0) no longer lists the unresolved member \(value.value)"))
        }
        for effect in plan.effectiveGained where changes.count < limit {
            let (user, dn) = userLabel(effect.userID)
            changes.append(.init(
                kind: .effective, action: .added, objectID: effect.groupID, dn: dn,
                summary: "\(user) is now a member of \(groupLabel(effect.groupID).0) (directly or through nested groups)"))
        }
        for effect in plan.effectiveLost where changes.count < limit {
            let (user, dn) = userLabel(effect.userID)
            changes.append(.init(
                kind: .effective, action: .removed, objectID: effect.groupID, dn: dn,
                summary: "\(user) is no longer a member of \(groupLabel(effect.groupID).0)"))
        }
        plan.changes = changes
    }
}
