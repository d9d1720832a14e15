import Foundation
import GRDB
import LDAPClient
import SyncCore
import Verification

/// The stored snapshot of every directory held in memory, for the daemon: answers a
/// verification query in microseconds instead of a dozen SQLite statements, so the API
/// keeps its latency under load. Built from one read transaction (one consistent
/// snapshot); the daemon builds a new one after each run and swaps it in when ready.
/// About 60 bytes per membership and 400 per user.
public final class SnapshotIndex: Catalog, Sendable {
    let users: [UserInfo]
    let groups: [GroupInfo]
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

    /// Reads every directory's snapshot from the store.
    public static func load(from store: Store) throws(StoreError) -> SnapshotIndex {
        try store.read("build the verification index") { db in try SnapshotIndex(db) }
    }

    init(_ db: Database) throws {
        var users: [UserInfo] = []
        var userByRef: [Int64: Int32] = [:]
        let decoder = JSONDecoder()
        let userRows = try Row.fetchCursor(db, sql: "SELECT \(StoreCatalog.userColumns), u.dn_key FROM \"user\" u")
        var userByName: [String: [Int32]] = [:], userByDN: [String: [Int32]] = [:], userByKey: [UserKey: Int32] = [:]
        while let row = try userRows.next() {
            let info = StoreCatalog.userInfo(row, decoder: decoder)
            let index = Int32(users.count)
            users.append(info)
            userByRef[info.ref] = index
            userByKey[info.key] = index
            if let username = info.user.username { userByName[username.lowercased(), default: []].append(index) }
            userByDN[(row[9] as String?) ?? info.user.dn.lowercased(), default: []].append(index)
        }
        var userByAddress: [String: [Int32]] = [:]
        let addresses = try Row.fetchCursor(db, sql: "SELECT address, user_ref FROM user_address")
        while let row = try addresses.next() {
            if let index = userByRef[row[1]] { userByAddress[(row[0] as String).lowercased(), default: []].append(index) }
        }
        var groups: [GroupInfo] = []
        var groupByRef: [Int64: Int32] = [:]
        var groupByName: [String: [Int32]] = [:], groupByDN: [String: [Int32]] = [:], groupByKey: [GroupKey: Int32] = [:]
        let groupRows = try Row.fetchCursor(db, sql: "SELECT ref, directory, id, dn, name, mail, dn_key, group_type FROM \"group\"")
        while let row = try groupRows.next() {
            let info = GroupInfo(directory: row[1], group: DirectoryGroup(id: row[2], dn: row[3], name: row[4], mail: row[5], type: row[7]))
            let index = Int32(groups.count)
            groups.append(info)
            groupByRef[row[0]] = index
            groupByKey[info.key] = index
            groupByName[info.name.lowercased(), default: []].append(index)
            groupByDN[(row[6] as String?) ?? info.dn.lowercased(), default: []].append(index)
        }
        var userGroups = [[Int32]](repeating: [], count: users.count)
        var groupParents = [[Int32]](repeating: [], count: groups.count)
        var groupUsers = [[Int32]](repeating: [], count: groups.count)
        var groupChildren = [[Int32]](repeating: [], count: groups.count)
        let edges = try Row.fetchCursor(db, sql: "SELECT group_ref, member_kind, member_ref FROM membership")
        while let row = try edges.next() {
            guard let group = groupByRef[row[0]] else { continue }
            if (row[1] as Int) == 0 {
                guard let user = userByRef[row[2]] else { continue }
                userGroups[Int(user)].append(group)
                groupUsers[Int(group)].append(user)
            } else {
                guard let child = groupByRef[row[2]] else { continue }
                groupParents[Int(child)].append(group)
                groupChildren[Int(group)].append(child)
            }
        }
        self.users = users
        self.groups = groups
        self.userByName = userByName
        self.userByAddress = userByAddress
        self.userByDN = userByDN
        self.userByKey = userByKey
        self.userByRef = userByRef
        self.groupByName = groupByName
        self.groupByDN = groupByDN
        self.groupByKey = groupByKey
        self.userGroups = userGroups
        self.groupParents = groupParents
        self.groupUsers = groupUsers
        self.groupChildren = groupChildren
    }

    public var userCount: Int { users.count }

    // MARK: Catalog

    public func users(matching name: String) throws -> [UserInfo] {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return [] }
        if name.contains("="), let key = DistinguishedName.normalizedKey(name) {
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
        let name = name.trimmingCharacters(in: .whitespaces)
        if name.contains("="), let key = DistinguishedName.normalizedKey(name) {
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

    public func effectiveUserRefs(of keys: [GroupKey]) throws -> [Int64] {
        effectiveUserIndexes(keys).map { users[Int($0)].ref }
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
        guard let index = userByKey[user.key] else { return UserGraph(user: user, groups: [:], direct: [], parents: [:]) }
        let direct = userGroups[Int(index)]
        var seen = Set(direct)
        var queue = direct
        var head = 0
        while head < queue.count {
            let group = queue[head]
            head += 1
            for parent in groupParents[Int(group)] where seen.insert(parent).inserted { queue.append(parent) }
        }
        var infos: [GroupKey: GroupInfo] = [:]
        var parents: [GroupKey: [GroupKey]] = [:]
        for group in queue {
            let info = groups[Int(group)]
            infos[info.key] = info
            let up = groupParents[Int(group)]
            if !up.isEmpty { parents[info.key] = up.map { groups[Int($0)].key } }
        }
        return UserGraph(user: users[Int(index)], groups: infos, direct: direct.map { groups[Int($0)].key }, parents: parents)
    }

    public func closeMatches(to name: String, limit: Int) throws -> [String] {
        let candidates = Set(users.compactMap(\.user.username)).union(userByAddress.keys)
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
