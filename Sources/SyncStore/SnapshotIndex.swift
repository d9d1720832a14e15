import Foundation
import GRDB
import LDAPClient
import SyncCore
import Verification

/// The stored snapshot of every directory held in memory, for the daemon: answers a
/// verification query in microseconds instead of a dozen SQLite statements, so the API
/// keeps its latency under load. Built from one read transaction (one consistent
/// snapshot); after each run the daemon writes the run's plan into a copy
/// (``applying(_:directory:addedUsers:)``) or, for a very large run, reads a new one, and
/// swaps it in when ready.
/// About 60 bytes per membership and 400 per user.
public final class SnapshotIndex: Catalog, Sendable {
    let users: [UserInfo]
    let groups: [GroupInfo]
    /// `groups[i].key`, made once: the graph walks ask for keys without copying records.
    let groupKeys: [GroupKey]
    let userByName: [String: [Int32]]
    let userByAddress: [String: [Int32]]
    let userByDN: [String: [Int32]]
    let userByKey: [UserKey: Int32]
    let userByRef: [Int64: Int32]
    let groupByName: [String: [Int32]]
    let groupByDN: [String: [Int32]]
    let groupByKey: [GroupKey: Int32]
    /// Direct edges by position: user → its groups, group → the groups it is in,
    /// group → its user members, group → its member groups.
    let userGroups: [[Int32]]
    let groupParents: [[Int32]]
    let groupUsers: [[Int32]]
    let groupChildren: [[Int32]]
    /// Users and groups a patch removed (``applying(_:directory:addedUsers:)``): their
    /// positions stay, reachable from no table, until the next rebuild.
    let vacatedUsers: Int
    let vacatedGroups: Int

    /// Reads every directory's snapshot from the store.
    public static func load(from store: Store) throws(StoreError) -> SnapshotIndex {
        try store.read("build the verification index") { db in try SnapshotIndex(db) }
    }

    convenience init(_ db: Database) throws {
        var builder = Builder()
        let decoder = JSONDecoder()
        let userRows = try Row.fetchCursor(db, sql: "SELECT \(StoreCatalog.userColumns), u.dn_key FROM \"user\" u")
        while let row = try userRows.next() {
            builder.addUser(StoreCatalog.userInfo(row, decoder: decoder), dnKey: row[9])
        }
        let addresses = try Row.fetchCursor(db, sql: "SELECT address, user_ref FROM user_address")
        while let row = try addresses.next() { builder.addAddress(row[0], userRef: row[1]) }
        let groupRows = try Row.fetchCursor(db, sql: "SELECT ref, directory, id, dn, name, mail, dn_key, group_type FROM \"group\"")
        while let row = try groupRows.next() {
            builder.addGroup(
                GroupInfo(directory: row[1], group: DirectoryGroup(id: row[2], dn: row[3], name: row[4], mail: row[5], type: row[7])),
                ref: row[0], dnKey: row[6])
        }
        builder.startEdges()
        let edges = try Row.fetchCursor(db, sql: "SELECT group_ref, member_kind, member_ref FROM membership")
        while let row = try edges.next() { builder.addEdge(group: row[0], memberIsUser: (row[1] as Int) == 0, member: row[2]) }
        self.init(builder)
    }

    /// Collects a store's rows (users, their addresses, groups, then membership edges, in
    /// that order) into an index; each store reads its own tables into one.
    public struct Builder {
        var users: [UserInfo] = []
        var userByRef: [Int64: Int32] = [:]
        var userByName: [String: [Int32]] = [:], userByDN: [String: [Int32]] = [:], userByKey: [UserKey: Int32] = [:]
        var userByAddress: [String: [Int32]] = [:]
        var groups: [GroupInfo] = []
        var groupByRef: [Int64: Int32] = [:]
        var groupByName: [String: [Int32]] = [:], groupByDN: [String: [Int32]] = [:], groupByKey: [GroupKey: Int32] = [:]
        var userGroups: [[Int32]] = [], groupParents: [[Int32]] = [], groupUsers: [[Int32]] = [], groupChildren: [[Int32]] = []

        public init() {}

        /// A user (with its store ref in `info.ref`) and its normalised DN.
        public mutating func addUser(_ info: UserInfo, dnKey: String?) {
            let index = Int32(users.count)
            users.append(info)
            userByRef[info.ref] = index
            userByKey[info.key] = index
            if let username = info.user.username { userByName[username.lowercased(), default: []].append(index) }
            userByDN[dnKey ?? info.user.dn.lowercased(), default: []].append(index)
        }

        public mutating func addAddress(_ address: String, userRef: Int64) {
            if let index = userByRef[userRef] { userByAddress[address.lowercased(), default: []].append(index) }
        }

        public mutating func addGroup(_ info: GroupInfo, ref: Int64, dnKey: String?) {
            let index = Int32(groups.count)
            groups.append(info)
            groupByRef[ref] = index
            groupByKey[info.key] = index
            groupByName[info.name.lowercased(), default: []].append(index)
            groupByDN[dnKey ?? info.dn.lowercased(), default: []].append(index)
        }

        /// After every user and group, before the edges.
        public mutating func startEdges() {
            userGroups = [[Int32]](repeating: [], count: users.count)
            groupParents = [[Int32]](repeating: [], count: groups.count)
            groupUsers = [[Int32]](repeating: [], count: groups.count)
            groupChildren = [[Int32]](repeating: [], count: groups.count)
        }

        /// A direct membership by refs; edges naming objects not added are skipped.
        public mutating func addEdge(group groupRef: Int64, memberIsUser: Bool, member memberRef: Int64) {
            guard let group = groupByRef[groupRef] else { return }
            if memberIsUser {
                guard let user = userByRef[memberRef] else { return }
                userGroups[Int(user)].append(group)
                groupUsers[Int(group)].append(user)
            } else {
                guard let child = groupByRef[memberRef] else { return }
                groupParents[Int(child)].append(group)
                groupChildren[Int(group)].append(child)
            }
        }
    }

    /// The index of what `builder` collected.
    public convenience init(_ builder: Builder) {
        self.init(Parts(
            users: builder.users, groups: builder.groups, groupKeys: builder.groups.map(\.key), userByName: builder.userByName,
            userByAddress: builder.userByAddress, userByDN: builder.userByDN, userByKey: builder.userByKey, userByRef: builder.userByRef,
            groupByName: builder.groupByName, groupByDN: builder.groupByDN, groupByKey: builder.groupByKey, userGroups: builder.userGroups,
            groupParents: builder.groupParents, groupUsers: builder.groupUsers, groupChildren: builder.groupChildren,
            vacatedUsers: 0, vacatedGroups: 0))
    }

    /// Every table of an index, as values: what a patch (``applying(_:directory:)``) edits.
    struct Parts: Equatable {
        var users: [UserInfo]
        var groups: [GroupInfo]
        var groupKeys: [GroupKey]
        var userByName: [String: [Int32]]
        var userByAddress: [String: [Int32]]
        var userByDN: [String: [Int32]]
        var userByKey: [UserKey: Int32]
        var userByRef: [Int64: Int32]
        var groupByName: [String: [Int32]]
        var groupByDN: [String: [Int32]]
        var groupByKey: [GroupKey: Int32]
        var userGroups: [[Int32]]
        var groupParents: [[Int32]]
        var groupUsers: [[Int32]]
        var groupChildren: [[Int32]]
        var vacatedUsers: Int
        var vacatedGroups: Int
    }

    init(_ parts: Parts) {
        users = parts.users
        groups = parts.groups
        groupKeys = parts.groupKeys
        userByName = parts.userByName
        userByAddress = parts.userByAddress
        userByDN = parts.userByDN
        userByKey = parts.userByKey
        userByRef = parts.userByRef
        groupByName = parts.groupByName
        groupByDN = parts.groupByDN
        groupByKey = parts.groupByKey
        userGroups = parts.userGroups
        groupParents = parts.groupParents
        groupUsers = parts.groupUsers
        groupChildren = parts.groupChildren
        vacatedUsers = parts.vacatedUsers
        vacatedGroups = parts.vacatedGroups
    }

    /// The index's tables (shared with it until edited).
    var parts: Parts {
        Parts(
            users: users, groups: groups, groupKeys: groupKeys, userByName: userByName, userByAddress: userByAddress, userByDN: userByDN,
            userByKey: userByKey, userByRef: userByRef, groupByName: groupByName, groupByDN: groupByDN, groupByKey: groupByKey,
            userGroups: userGroups, groupParents: groupParents, groupUsers: groupUsers, groupChildren: groupChildren,
            vacatedUsers: vacatedUsers, vacatedGroups: vacatedGroups)
    }

    public var userCount: Int { users.count - vacatedUsers }

    // MARK: Catalog

    public func users(matching name: String) throws -> [UserInfo] {
        let name = Self.trimmed(name)
        guard !name.isEmpty else { return [] }
        if Self.mayBeDN(name), let key = DistinguishedName.normalizedKey(name) {
            return (userByDN[key] ?? []).map { users[Int($0)] }
        }
        let lower = name.lowercased()
        var found = userByName[lower] ?? []
        for index in userByAddress[lower] ?? [] where !found.contains(index) { found.append(index) }
        return found.map { users[Int($0)] }
    }

    public func users(keys: [UserKey]) throws -> [UserInfo] {
        keys.compactMap { userByKey[$0].map { users[Int($0)] } }
    }

    public func users(refs: [Int64]) throws -> [UserInfo] {
        refs.compactMap { userByRef[$0].map { users[Int($0)] } }
    }

    public func groups(matching name: String) throws -> [GroupInfo] {
        let name = Self.trimmed(name)
        if Self.mayBeDN(name), let key = DistinguishedName.normalizedKey(name) {
            return (groupByDN[key] ?? []).map { groups[Int($0)] }
        }
        return (groupByName[name.lowercased()] ?? []).map { groups[Int($0)] }
    }

    public func nestedGroups(of keys: [GroupKey]) throws -> [GroupInfo] {
        let start = keys.compactMap { groupByKey[$0] }
        let closure = descendants(start)
        return closure.subtracting(start).map { groups[Int($0)] }.sorted { $0.name < $1.name }
    }

    public func hasUserMembers(_ keys: [GroupKey]) throws -> Bool {
        keys.contains { key in groupByKey[key].map { !groupUsers[Int($0)].isEmpty } ?? false }
    }

    public func effectiveUsers(of keys: [GroupKey]) throws -> [UserInfo] {
        effectiveUserIndexes(keys).map { users[Int($0)] }
    }

    public func effectiveUserRefs(of keys: [GroupKey]) throws -> Set<Int64> {
        Set(effectiveUserIndexes(keys).map { users[Int($0)].ref })
    }

    public func userRefs(withAddresses addresses: [String], domains: [String]) throws -> [Int64] {
        var result: [Int64] = []
        for address in addresses { result += (userByAddress[address.lowercased()] ?? []).map { users[Int($0)].ref } }
        if !domains.isEmpty {
            let suffixes = domains.map { "@" + $0.lowercased() }
            var seen = Set<Int32>()
            for (address, indexes) in userByAddress where suffixes.contains(where: { address.hasSuffix($0) }) {
                for index in indexes where seen.insert(index).inserted { result.append(users[Int(index)].ref) }
            }
        }
        return result
    }

    public func graph(of user: UserInfo) throws -> UserGraph {
        guard let index = position(of: user) else { return UserGraph(user: user, groups: [:], direct: [], parents: [:]) }
        let direct = userGroups[Int(index)]
        // The groups above the user, breadth first. `queue` is also the set of groups seen:
        // searched in place while short (most users are in a handful of groups), hashed once
        // it grows.
        var queue = direct
        var seen = Set<Int32>()
        var head = 0
        while head < queue.count {
            let group = queue[head]
            head += 1
            for parent in groupParents[Int(group)] {
                if queue.count < 32 {
                    if !queue.contains(parent) { queue.append(parent) }
                    continue
                }
                if seen.isEmpty { seen = Set(queue) }
                if seen.insert(parent).inserted { queue.append(parent) }
            }
        }
        var infos = [GroupKey: GroupInfo](minimumCapacity: queue.count)
        var parents: [GroupKey: [GroupKey]] = [:]
        for group in queue {
            let key = groupKeys[Int(group)]
            infos[key] = groups[Int(group)]
            let up = groupParents[Int(group)]
            if !up.isEmpty { parents[key] = up.map { groupKeys[Int($0)] } }
        }
        return UserGraph(user: users[Int(index)], groups: infos, direct: direct.map { groupKeys[Int($0)] }, parents: parents)
    }

    /// Where `user` is in ``users``: by its store ref (an integer lookup) when that is the
    /// same user — as for every user this index returned — else by its key.
    private func position(of user: UserInfo) -> Int32? {
        if let index = userByRef[user.ref], users[Int(index)].user.id == user.user.id, users[Int(index)].directory == user.directory {
            return index
        }
        return userByKey[user.key]
    }

    /// Whether a name has an `=` and may be a DN: looked at byte by byte (`String.contains`
    /// with a string goes through Foundation and NSString, a measurable share of an answer).
    static func mayBeDN(_ name: String) -> Bool { name.utf8.contains(UInt8(ascii: "=")) }

    /// `name` without surrounding spaces and tabs; Foundation's trimming is the slow way
    /// for the usual name that has none (a sizeable share of an API answer's cost).
    static func trimmed(_ name: String) -> String {
        guard let first = name.first, let last = name.last, first.isWhitespace || last.isWhitespace else { return name }
        return name.trimmingCharacters(in: .whitespaces)
    }

    public func closeMatches(to name: String, limit: Int) throws -> [String] {
        var candidates = Set(userByAddress.keys)
        for (position, user) in users.enumerated() where vacatedUsers == 0 || userByKey[user.key] == Int32(position) {
            if let username = user.user.username { candidates.insert(username) }
        }
        return CloseMatches.rank(name, candidates: candidates, limit: limit)
    }

    // MARK: Walks

    private func descendants(_ start: [Int32]) -> Set<Int32> {
        var seen = Set(start)
        var queue = start
        var head = 0
        while head < queue.count {
            let group = queue[head]
            head += 1
            for child in groupChildren[Int(group)] where seen.insert(child).inserted { queue.append(child) }
        }
        return seen
    }

    private func effectiveUserIndexes(_ keys: [GroupKey]) -> [Int32] {
        var seen = Set<Int32>()
        var result: [Int32] = []
        for group in descendants(keys.compactMap { groupByKey[$0] }) {
            for user in groupUsers[Int(group)] where seen.insert(user).inserted { result.append(user) }
        }
        return result
    }
}
