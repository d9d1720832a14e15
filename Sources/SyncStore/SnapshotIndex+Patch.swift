import LDAPClient
import SyncCore
import Verification

extension SnapshotIndex {
    /// The most membership changes a patch applies; a run with more is followed by a
    /// rebuild, which costs about the same and is known to be right.
    public static let patchLimit = 100_000

    /// This index with an applied run's plan for `directory` written into it: what a rebuild
    /// from the store would give after that run, without reading 100,000 users again (a
    /// second or two of CPU) — in watch mode, after every batch.
    ///
    /// Patches users and groups whose fields changed and memberships added to or removed
    /// from groups the index holds. Nil — rebuild from the store — when the plan adds or
    /// removes a user or a group (their store refs are only in the store), names an object
    /// the index does not hold, or changes more than ``patchLimit`` memberships.
    public func applying(_ plan: Plan, directory: String) -> SnapshotIndex? {
        guard plan.usersAdded.isEmpty, plan.usersRemoved.isEmpty, plan.groupsAdded.isEmpty, plan.groupsRemoved.isEmpty,
              plan.newGroupMembers.isEmpty, plan.membershipsAdded.count + plan.membershipsRemoved.count <= Self.patchLimit
        else { return nil }
        var patch = Patch(parts, directory: directory)
        for change in plan.usersChanged { guard patch.change(change.after) else { return nil } }
        for change in plan.groupsChanged { guard patch.change(change.after) else { return nil } }
        for membership in plan.membershipsRemoved { guard patch.edge(membership, present: false) else { return nil } }
        for membership in plan.membershipsAdded { guard patch.edge(membership, present: true) else { return nil } }
        patch.finish()
        return SnapshotIndex(patch.parts)
    }

    /// Edits to an index's tables, made as the store's rows would read back: lookup lists
    /// and adjacency lists in ascending position (the order a rebuild makes them in).
    struct Patch {
        var parts: Parts
        let directory: String
        /// Adjacency edits collected per list and applied once each (a 60,000-member group
        /// with many changes is rewritten once, not once per change).
        private var userGroups: [Int32: ListEdit] = [:], groupUsers: [Int32: ListEdit] = [:]
        private var groupParents: [Int32: ListEdit] = [:], groupChildren: [Int32: ListEdit] = [:]

        init(_ parts: Parts, directory: String) {
            self.parts = parts
            self.directory = directory
        }

        /// A user's new fields (same id). The store does not read a primary group back.
        mutating func change(_ user: DirectoryUser) -> Bool {
            guard let position = parts.userByKey[UserKey(directory: directory, id: user.id)] else { return false }
            var user = user
            user.primaryGroup = nil
            let old = parts.users[Int(position)].user
            Self.move(position, in: &parts.userByName, from: old.username?.lowercased(), to: user.username?.lowercased())
            Self.move(position, in: &parts.userByDN, from: DNKey.of(old.dn), to: DNKey.of(user.dn))
            let before = Self.addresses(of: old), after = Self.addresses(of: user)
            for address in before.subtracting(after) { Self.move(position, in: &parts.userByAddress, from: address, to: nil) }
            for address in after.subtracting(before) { Self.move(position, in: &parts.userByAddress, from: nil, to: address) }
            parts.users[Int(position)] = UserInfo(directory: directory, user: user, ref: parts.users[Int(position)].ref)
            return true
        }

        /// A group's new fields (same id). The store does not read a SID back.
        mutating func change(_ group: DirectoryGroup) -> Bool {
            guard let position = parts.groupByKey[GroupKey(directory: directory, id: group.id)] else { return false }
            let old = parts.groups[Int(position)]
            Self.move(position, in: &parts.groupByName, from: old.name.lowercased(), to: group.name.lowercased())
            Self.move(position, in: &parts.groupByDN, from: DNKey.of(old.dn), to: DNKey.of(group.dn))
            let stored = DirectoryGroup(id: group.id, dn: group.dn, name: group.name, mail: group.mail, type: group.type)
            parts.groups[Int(position)] = GroupInfo(directory: directory, group: stored)
            return true
        }

        /// A direct membership added (`present`) or removed.
        mutating func edge(_ membership: Membership, present: Bool) -> Bool {
            guard let group = parts.groupByKey[GroupKey(directory: directory, id: membership.groupID)] else { return false }
            switch membership.member.kind {
            case .user:
                guard let user = parts.userByKey[UserKey(directory: directory, id: membership.member.id)] else { return false }
                userGroups[user, default: ListEdit()].record(group, present: present)
                groupUsers[group, default: ListEdit()].record(user, present: present)
            case .group:
                guard let child = parts.groupByKey[GroupKey(directory: directory, id: membership.member.id)] else { return false }
                groupParents[child, default: ListEdit()].record(group, present: present)
                groupChildren[group, default: ListEdit()].record(child, present: present)
            }
            return true
        }

        /// Applies the collected adjacency edits.
        mutating func finish() {
            for (position, edit) in userGroups { edit.apply(to: &parts.userGroups[Int(position)]) }
            for (position, edit) in groupUsers { edit.apply(to: &parts.groupUsers[Int(position)]) }
            for (position, edit) in groupParents { edit.apply(to: &parts.groupParents[Int(position)]) }
            for (position, edit) in groupChildren { edit.apply(to: &parts.groupChildren[Int(position)]) }
        }

        /// Every address a user receives mail at, as the store keeps them (`user_address`).
        static func addresses(of user: DirectoryUser) -> Set<String> {
            Set(([user.mail].compactMap { $0 } + user.aliases).map { $0.lowercased() })
        }

        /// Moves `position` from one key's list to another's (either nil: only removed or added).
        static func move(_ position: Int32, in table: inout [String: [Int32]], from old: String?, to new: String?) {
            guard old != new else { return }
            if let old, var list = table[old] {
                list.removeAll { $0 == position }
                table[old] = list.isEmpty ? nil : list
            }
            if let new {
                var list = table[new] ?? []
                if !list.contains(position) { list.insert(position, at: list.firstIndex { $0 > position } ?? list.count) }
                table[new] = list
            }
        }
    }

    /// Entries added to and removed from one list, latest word per entry.
    struct ListEdit {
        private var added: Set<Int32> = [], removed: Set<Int32> = []

        mutating func record(_ entry: Int32, present: Bool) {
            if present {
                added.insert(entry)
                removed.remove(entry)
            } else {
                removed.insert(entry)
                added.remove(entry)
            }
        }

        /// Edits `list`, keeping it in ascending order without repeats.
        func apply(to list: inout [Int32]) {
            if !removed.isEmpty { list.removeAll { removed.contains($0) } }
            guard !added.isEmpty else { return }
            if list.count * added.count <= 4096 {
                for entry in added.sorted() where !list.contains(entry) {
                    list.insert(entry, at: list.firstIndex { $0 > entry } ?? list.count)
                }
            } else {
                let present = Set(list)
                list += added.filter { !present.contains($0) }
                list.sort()
            }
        }
    }
}
