import LDAPClient
import SyncCore
import Verification

extension SnapshotIndex {
    /// The most membership changes a patch applies, and the most users and groups it adds
    /// or removes; a larger run is followed by a rebuild, which costs about the same.
    public static let patchLimit = 100_000
    public static let objectPatchLimit = 10_000

    /// This index with an applied run's plan for `directory` written into it: what a rebuild
    /// from the store would give after that run (the same answers, in the same order),
    /// without reading 100,000 users again — a second or two of CPU — after every watch
    /// batch or incremental run.
    ///
    /// `addedUsers`: the plan's added users as the store now holds them (their store refs
    /// exist only once the run has committed; ``usersToRead(for:directory:)`` says which).
    /// Removed users and groups leave their positions behind, reachable from no table, until
    /// the next rebuild. Nil — rebuild from the store — when the plan changes more than
    /// ``patchLimit`` memberships or ``objectPatchLimit`` users and groups, names an object
    /// the index does not hold (or an added user `addedUsers` lacks), or would leave more than
    /// a tenth of the positions vacated.
    public func applying(_ plan: Plan, directory: String, addedUsers: [UserInfo] = []) -> SnapshotIndex? {
        let objects = plan.usersAdded.count + plan.usersRemoved.count + plan.groupsAdded.count + plan.groupsRemoved.count
        guard objects <= Self.objectPatchLimit, plan.membershipsAddedCount + plan.membershipsRemoved.count <= Self.patchLimit,
              (vacatedUsers + plan.usersRemoved.count) * 10 <= max(users.count, 10),
              (vacatedGroups + plan.groupsRemoved.count) * 10 <= max(groups.count, 10)
        else { return nil }
        var patch = Patch(parts, directory: directory)
        // Memberships removed while their groups and members are still there; then the
        // objects that left (with any edge they still have), the new ones, the changed
        // ones, and the memberships added (to new groups too).
        for membership in plan.membershipsRemoved { guard patch.edge(membership, present: false) else { return nil } }
        patch.finish()
        for user in plan.usersRemoved { guard patch.removeUser(id: user.id) else { return nil } }
        for group in plan.groupsRemoved { guard patch.removeGroup(id: group.id) else { return nil } }
        patch.finish()
        for group in plan.groupsAdded { guard patch.add(group) else { return nil } }
        let infos = Dictionary(addedUsers.map { ($0.user.id, $0) }, uniquingKeysWith: { first, _ in first })
        // In store order (refs ascending), as a rebuild lists them.
        let added = plan.usersAdded.compactMap { infos[$0.id] }.sorted { $0.ref < $1.ref }
        guard added.count == plan.usersAdded.count else { return nil }
        for info in added { guard patch.add(info) else { return nil } }
        for change in plan.usersChanged { guard patch.change(change.after) else { return nil } }
        for change in plan.groupsChanged { guard patch.change(change.after) else { return nil } }
        for membership in plan.membershipsAdded { guard patch.edge(membership, present: true) else { return nil } }
        for (group, members) in plan.newGroupMembers {
            for member in members { guard patch.edge(Membership(groupID: group, member: member), present: true) else { return nil } }
        }
        patch.finish()
        return SnapshotIndex(patch.parts)
    }

    /// The keys of the users `plan` adds, to read from the store once the run has
    /// committed and pass to ``applying(_:directory:addedUsers:)``.
    public static func usersToRead(for plan: Plan, directory: String) -> [UserKey] {
        plan.usersAdded.map { UserKey(directory: directory, id: $0.id) }
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

        // MARK: Users

        /// A user the store now holds, at a new position.
        mutating func add(_ info: UserInfo) -> Bool {
            guard info.directory == directory, parts.userByKey[info.key] == nil, parts.userByRef[info.ref] == nil else { return false }
            let position = Int32(parts.users.count)
            parts.users.append(info)
            parts.userGroups.append([])
            parts.userByKey[info.key] = position
            parts.userByRef[info.ref] = position
            index(position, info.user)
            return true
        }

        /// A user's new fields (same id). The store does not read a primary group back.
        mutating func change(_ user: DirectoryUser) -> Bool {
            guard let position = parts.userByKey[UserKey(directory: directory, id: user.id)] else { return false }
            var user = user
            user.primaryGroup = nil
            unindex(position, parts.users[Int(position)].user)
            index(position, user)
            parts.users[Int(position)] = UserInfo(directory: directory, user: user, ref: parts.users[Int(position)].ref)
            return true
        }

        /// A user gone from the store: out of every table, its position left vacant.
        mutating func removeUser(id: String) -> Bool {
            let key = UserKey(directory: directory, id: id)
            guard let position = parts.userByKey[key] else { return false }
            let info = parts.users[Int(position)]
            unindex(position, info.user)
            parts.userByKey[key] = nil
            if parts.userByRef[info.ref] == position { parts.userByRef[info.ref] = nil }
            for group in parts.userGroups[Int(position)] { groupUsers[group, default: ListEdit()].record(position, present: false) }
            parts.userGroups[Int(position)] = []
            parts.vacatedUsers += 1
            return true
        }

        private mutating func index(_ position: Int32, _ user: DirectoryUser) {
            Self.insert(position, in: &parts.userByName, at: user.username?.lowercased())
            Self.insert(position, in: &parts.userByDN, at: DNKey.of(user.dn))
            for address in Self.addresses(of: user) { Self.insert(position, in: &parts.userByAddress, at: address) }
        }

        private mutating func unindex(_ position: Int32, _ user: DirectoryUser) {
            Self.remove(position, from: &parts.userByName, at: user.username?.lowercased())
            Self.remove(position, from: &parts.userByDN, at: DNKey.of(user.dn))
            for address in Self.addresses(of: user) { Self.remove(position, from: &parts.userByAddress, at: address) }
        }

        // MARK: Groups

        /// A new group, at a new position (the store gives it a ref above every other).
        mutating func add(_ group: DirectoryGroup) -> Bool {
            let info = GroupInfo(directory: directory, group: Self.stored(group))
            guard parts.groupByKey[info.key] == nil else { return false }
            let position = Int32(parts.groups.count)
            parts.groups.append(info)
            parts.groupKeys.append(info.key)
            parts.groupParents.append([])
            parts.groupUsers.append([])
            parts.groupChildren.append([])
            parts.groupByKey[info.key] = position
            Self.insert(position, in: &parts.groupByName, at: info.name.lowercased())
            Self.insert(position, in: &parts.groupByDN, at: DNKey.of(info.dn))
            return true
        }

        /// A group's new fields (same id).
        mutating func change(_ group: DirectoryGroup) -> Bool {
            guard let position = parts.groupByKey[GroupKey(directory: directory, id: group.id)] else { return false }
            let old = parts.groups[Int(position)]
            Self.remove(position, from: &parts.groupByName, at: old.name.lowercased())
            Self.remove(position, from: &parts.groupByDN, at: DNKey.of(old.dn))
            Self.insert(position, in: &parts.groupByName, at: group.name.lowercased())
            Self.insert(position, in: &parts.groupByDN, at: DNKey.of(group.dn))
            parts.groups[Int(position)] = GroupInfo(directory: directory, group: Self.stored(group))
            return true
        }

        /// A group gone from the store: out of every table and every other object's edges.
        mutating func removeGroup(id: String) -> Bool {
            let key = GroupKey(directory: directory, id: id)
            guard let position = parts.groupByKey[key] else { return false }
            let old = parts.groups[Int(position)]
            Self.remove(position, from: &parts.groupByName, at: old.name.lowercased())
            Self.remove(position, from: &parts.groupByDN, at: DNKey.of(old.dn))
            parts.groupByKey[key] = nil
            for user in parts.groupUsers[Int(position)] { userGroups[user, default: ListEdit()].record(position, present: false) }
            for parent in parts.groupParents[Int(position)] { groupChildren[parent, default: ListEdit()].record(position, present: false) }
            for child in parts.groupChildren[Int(position)] { groupParents[child, default: ListEdit()].record(position, present: false) }
            parts.groupUsers[Int(position)] = []
            parts.groupParents[Int(position)] = []
            parts.groupChildren[Int(position)] = []
            parts.vacatedGroups += 1
            return true
        }

        /// A group as the store reads it back (without its SID).
        static func stored(_ group: DirectoryGroup) -> DirectoryGroup {
            DirectoryGroup(id: group.id, dn: group.dn, name: group.name, mail: group.mail, type: group.type)
        }

        // MARK: Memberships

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

        /// Applies the adjacency edits collected so far.
        mutating func finish() {
            for (position, edit) in userGroups { edit.apply(to: &parts.userGroups[Int(position)]) }
            for (position, edit) in groupUsers { edit.apply(to: &parts.groupUsers[Int(position)]) }
            for (position, edit) in groupParents { edit.apply(to: &parts.groupParents[Int(position)]) }
            for (position, edit) in groupChildren { edit.apply(to: &parts.groupChildren[Int(position)]) }
            userGroups = [:]
            groupUsers = [:]
            groupParents = [:]
            groupChildren = [:]
        }

        // MARK: Lookup lists

        /// Every address a user receives mail at, as the store keeps them (`user_address`).
        static func addresses(of user: DirectoryUser) -> Set<String> {
            Set(([user.mail].compactMap { $0 } + user.aliases).map { $0.lowercased() })
        }

        static func insert(_ position: Int32, in table: inout [String: [Int32]], at key: String?) {
            guard let key else { return }
            var list = table[key] ?? []
            if !list.contains(position) { list.insert(position, at: list.firstIndex { $0 > position } ?? list.count) }
            table[key] = list
        }

        static func remove(_ position: Int32, from table: inout [String: [Int32]], at key: String?) {
            guard let key, var list = table[key] else { return }
            list.removeAll { $0 == position }
            table[key] = list.isEmpty ? nil : list
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
