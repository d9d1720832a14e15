/// `plan = diff(wanted, current)`: a pure function over value types. Objects are matched by
/// stable id, so a user moved to another OU or a renamed group is a change, not a removal
/// and an addition.
public enum Planner {
    /// How many changes a plan describes by default. A first sync of a large directory has
    /// a million membership additions; listing each of them helps nobody and costs memory.
    public static let defaultDescribeLimit = 10_000

    /// With `partial`, both snapshots hold only some of the directory (an incremental run's
    /// narrow snapshots): effective membership is then compared even when `current` is empty.
    /// `effective`, when given, is the effective-membership change already worked out user
    /// by user (``EffectiveDelta``, for narrow snapshots that hold only the members that
    /// changed) and is taken as it is. `movedMarkers: false` when `current`'s user markers
    /// were not read (`--full`): no user's marker is then written on its own.
    public static func plan(
        wanted: Snapshot, current: Snapshot, describeLimit: Int = defaultDescribeLimit, partial: Bool = false, effective: EffectiveDelta? = nil,
        movedMarkers: Bool = true
    ) -> Plan {
        var plan = Plan()
        diffUsers(wanted: wanted, current: current, into: &plan)
        diffGroups(wanted: wanted, current: current, into: &plan)
        diffMemberships(wanted: wanted, current: current, into: &plan)
        if let effective {
            plan.effectiveGained = effective.gained.sorted()
            plan.effectiveLost = effective.lost.sorted()
        } else if !current.isEmpty || partial {
            diffEffective(wanted: wanted, current: current, into: &plan)
        }
        var touched = Set(plan.groupsAdded.map(\.id))
        for membership in plan.membershipsAdded { touched.insert(membership.groupID) }
        for membership in plan.membershipsRemoved { touched.insert(membership.groupID) }
        touched.formUnion(plan.newGroupMembers.keys)
        for group in touched {
            if let digest = wanted.memberDigests[group] { plan.memberDigests[group] = digest }
        }
        for (group, marker) in wanted.groupMarkers where current.groupMarkers[group] != marker {
            plan.groupMarkers[group] = marker
        }
        plan.userMarkers = wanted.userMarkers
        if movedMarkers && !wanted.userMarkers.isEmpty && !current.isEmpty {
            let changed = Set(plan.usersChanged.map(\.after.id))
            for (user, marker) in wanted.userMarkers where current.userMarkers[user] != marker && !changed.contains(user) {
                // Stored (so not added), not changed: the marker moved alone.
                if current.users[user] != nil || current.userDigests[user] != nil { plan.movedUserMarkers[user] = marker }
            }
        }
        describe(&plan, wanted: wanted, current: current, limit: describeLimit)
        return plan
    }

    private static func diffUsers(wanted: Snapshot, current: Snapshot, into plan: inout Plan) {
        for (id, user) in wanted.users {
            guard let before = current.users[id] else {
                // Not loaded but known: its digest matched, so it is unchanged.
                if current.partialUsers && current.userDigests[id] != nil { continue }
                plan.usersAdded.append(user)
                continue
            }
            let fields = userFieldChanges(before, user)
            if !fields.isEmpty { plan.usersChanged.append(Changed(before: before, after: user, fields: fields)) }
        }
        // A user the wanted snapshot knows by digest only (its marker did not move) stays.
        for (id, user) in current.users where wanted.users[id] == nil {
            if wanted.partialUsers && wanted.userDigests[id] != nil { continue }
            plan.usersRemoved.append(user)
        }
        plan.usersAdded.sort { $0.dn < $1.dn }
        plan.usersRemoved.sort { $0.dn < $1.dn }
        plan.usersChanged.sort { $0.after.dn < $1.after.dn }
    }

    private static func diffGroups(wanted: Snapshot, current: Snapshot, into plan: inout Plan) {
        for (id, group) in wanted.groups {
            guard let before = current.groups[id] else {
                plan.groupsAdded.append(group)
                continue
            }
            var fields: [FieldChange] = []
            if before.dn != group.dn { fields.append(FieldChange(field: "dn", before: before.dn, after: group.dn)) }
            if before.name != group.name { fields.append(FieldChange(field: "name", before: before.name, after: group.name)) }
            if before.type != group.type { fields.append(FieldChange(field: "type", before: before.type, after: group.type)) }
            if before.mail != group.mail { fields.append(FieldChange(field: "mail", before: before.mail, after: group.mail)) }
            if before.sid != group.sid { fields.append(FieldChange(field: "sid", before: before.sid, after: group.sid)) }
            if !fields.isEmpty { plan.groupsChanged.append(Changed(before: before, after: group, fields: fields)) }
        }
        for (id, group) in current.groups where wanted.groups[id] == nil {
            plan.groupsRemoved.append(group)
        }
        plan.groupsAdded.sort { $0.dn < $1.dn }
        plan.groupsRemoved.sort { $0.dn < $1.dn }
        plan.groupsChanged.sort { $0.after.dn < $1.after.dn }
    }

    private static func diffMemberships(wanted: Snapshot, current: Snapshot, into plan: inout Plan) {
        let empty = Set<MemberRef>()
        func unchanged(_ group: String) -> Bool {
            guard let after = wanted.memberDigests[group], let before = current.memberDigests[group] else { return false }
            return after == before
        }
        // Groups in id order, and each group's members sorted on their own: a stable order
        // without one big sort.
        let groups = Set(wanted.members.keys).union(current.members.keys).sorted()
        for group in groups where !unchanged(group) {
            if current.groups[group] == nil, let members = wanted.members[group], !members.isEmpty {
                plan.newGroupMembers[group] = members
                continue
            }
            let after = wanted.members[group] ?? empty
            let before = current.members[group] ?? empty
            var added: [MemberRef] = []
            var removed: [MemberRef] = []
            for ref in after where !before.contains(ref) { added.append(ref) }
            for ref in before where !after.contains(ref) { removed.append(ref) }
            // A stable order that is cheap to sort (integers, not id strings): groups of
            // 60,000 members are sorted on every first sync.
            let order = Plan.memberOrder
            for ref in added.sorted(by: order) { plan.membershipsAdded.append(Membership(groupID: group, member: ref)) }
            for ref in removed.sorted(by: order) { plan.membershipsRemoved.append(Membership(groupID: group, member: ref)) }
        }
        let noValues = Set<String>()
        for (group, values) in wanted.unresolved {
            let before = current.unresolved[group] ?? noValues
            for value in values where !before.contains(value) {
                plan.unresolvedAdded.append(UnresolvedMember(groupID: group, value: value))
            }
        }
        for (group, values) in current.unresolved {
            let after = wanted.unresolved[group] ?? noValues
            for value in values where !after.contains(value) {
                plan.unresolvedRemoved.append(UnresolvedMember(groupID: group, value: value))
            }
        }
        plan.unresolvedAdded.sort()
        plan.unresolvedRemoved.sort()
    }

    /// Effective membership can change only for groups whose direct members changed and
    /// for the groups above them, in either snapshot; only those are recomputed.
    private static func diffEffective(wanted: Snapshot, current: Snapshot, into plan: inout Plan) {
        var touched = Set<String>()
        for membership in plan.membershipsAdded { touched.insert(membership.groupID) }
        for membership in plan.membershipsRemoved { touched.insert(membership.groupID) }
        touched.formUnion(plan.newGroupMembers.keys)
        touched.formUnion(plan.groupsAdded.map(\.id))
        touched.formUnion(plan.groupsRemoved.map(\.id))
        guard !touched.isEmpty else { return }
        let affected = EffectiveMembership.ancestors(of: touched, in: wanted)
            .union(EffectiveMembership.ancestors(of: touched, in: current))
        // A group with no member groups on either side (most groups a change touches) gains
        // and loses exactly the users added to and removed from it directly: taken from the
        // plan, without collecting its members' closure twice.
        var addedUsers: [String: [String]] = [:], removedUsers: [String: [String]] = [:]
        for membership in plan.membershipsAdded where membership.member.kind == .user {
            addedUsers[membership.groupID, default: []].append(membership.member.id)
        }
        for membership in plan.membershipsRemoved where membership.member.kind == .user {
            removedUsers[membership.groupID, default: []].append(membership.member.id)
        }
        func hasMemberGroups(_ group: String, _ snapshot: Snapshot) -> Bool {
            snapshot.members[group]?.contains { $0.kind == .group } ?? false
        }
        let after = EffectiveMembership(wanted), before = EffectiveMembership(current)
        for group in affected {
            if wanted.groups[group] != nil, current.groups[group] != nil,
               !hasMemberGroups(group, wanted), !hasMemberGroups(group, current) {
                for user in addedUsers[group] ?? [] { plan.effectiveGained.append(EffectiveChange(userID: user, groupID: group)) }
                for user in removedUsers[group] ?? [] { plan.effectiveLost.append(EffectiveChange(userID: user, groupID: group)) }
                continue
            }
            let newUsers = wanted.groups[group] == nil ? [] : after.users(of: group)
            let oldUsers = current.groups[group] == nil ? [] : before.users(of: group)
            for user in newUsers.subtracting(oldUsers) { plan.effectiveGained.append(EffectiveChange(userID: user, groupID: group)) }
            for user in oldUsers.subtracting(newUsers) { plan.effectiveLost.append(EffectiveChange(userID: user, groupID: group)) }
        }
        plan.effectiveGained.sort()
        plan.effectiveLost.sort()
    }

    static func userFieldChanges(_ before: DirectoryUser, _ after: DirectoryUser) -> [FieldChange] {
        var fields: [FieldChange] = []
        func compare(_ name: String, _ old: String?, _ new: String?) {
            if old != new { fields.append(FieldChange(field: name, before: old, after: new)) }
        }
        compare("dn", before.dn, after.dn)
        compare("username", before.username, after.username)
        compare("mail", before.mail, after.mail)
        if before.aliases != after.aliases {
            fields.append(FieldChange(field: "aliases", before: before.aliases.joined(separator: ", "), after: after.aliases.joined(separator: ", ")))
        }
        compare("display_name", before.displayName, after.displayName)
        if before.disabled != after.disabled {
            fields.append(FieldChange(field: "disabled", before: String(before.disabled), after: String(after.disabled)))
        }
        compare("primary_group", before.primaryGroup, after.primaryGroup)
        return fields
    }
}
