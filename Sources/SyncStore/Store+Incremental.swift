import Foundation
import GRDB
import SyncCore

/// The lookups an incremental run needs: what the store holds about the few objects a
/// change feed named, and which stored groups those objects affect. Each costs in
/// proportion to the objects asked about, not to the directory.
extension Store {
    /// Which of these ids are stored users and which stored groups.
    public func kinds(directory: String, ids: Set<String>) throws(StoreError) -> [String: MemberRef.Kind] {
        try read("look up \(ids.count) objects of \(directory)") { db in
            var result: [String: MemberRef.Kind] = [:]
            let user = try db.cachedStatement(sql: "SELECT 1 FROM \"user\" WHERE directory = ? AND id = ?")
            let group = try db.cachedStatement(sql: "SELECT 1 FROM \"group\" WHERE directory = ? AND id = ?")
            for id in ids {
                if try Int.fetchOne(user, arguments: [directory, id]) != nil {
                    result[id] = .user
                } else if try Int.fetchOne(group, arguments: [directory, id]) != nil {
                    result[id] = .group
                }
            }
            return result
        }
    }

    /// A snapshot of just these users and groups as stored: the groups with their members,
    /// member digests, change markers and unresolved values.
    public func partialSnapshot(directory: String, userIDs: Set<String>, groupIDs: Set<String>) throws(StoreError) -> Snapshot {
        var snapshot = try read("read \(userIDs.count) users and \(groupIDs.count) groups of \(directory)") { db in
            var snapshot = Snapshot()
            let decoder = JSONDecoder()
            let user = try db.cachedStatement(sql: """
                SELECT id, dn, username, mail, aliases, display_name, disabled, primary_group FROM "user" WHERE directory = ? AND id = ?
                """)
            for id in userIDs {
                if let row = try Row.fetchOne(user, arguments: [directory, id]) {
                    snapshot.users[id] = DirectoryUser(
                        id: row[0], dn: row[1], username: row[2], mail: row[3], aliases: try Self.aliases(row[4], decoder: decoder),
                        displayName: row[5], disabled: row[6], primaryGroup: row[7])
                }
            }
            let group = try db.cachedStatement(sql: """
                SELECT id, dn, name, mail, members_sum, members_xor, members_count, change_marker, group_type, sid, ref
                FROM "group" WHERE directory = ? AND id = ?
                """)
            let unresolved = try db.cachedStatement(sql: "SELECT value FROM unresolved_member WHERE group_ref = ?")
            for id in groupIDs {
                guard let row = try Row.fetchOne(group, arguments: [directory, id]) else { continue }
                snapshot.groups[id] = DirectoryGroup(id: row[0], dn: row[1], name: row[2], mail: row[3], type: row[8], sid: row[9])
                if let marker: String = row[7] { snapshot.groupMarkers[id] = marker }
                if let sum: Int64 = row[4], let xor: Int64 = row[5], let count: Int = row[6] {
                    snapshot.memberDigests[id] = MemberDigest(sum: UInt64(bitPattern: sum), xor: UInt64(bitPattern: xor), count: count)
                }
                let values = try String.fetchAll(unresolved, arguments: [row[10] as Int64])
                if !values.isEmpty { snapshot.unresolved[id] = Set(values) }
            }
            return snapshot
        }
        let present = Set(snapshot.groups.keys)
        for (group, members) in try members(directory: directory, groupIDs: present) where !members.isEmpty {
            snapshot.members[group] = members
        }
        return snapshot
    }

    /// The stored groups that list any of these objects as a direct member.
    public func groupsContaining(directory: String, members: Set<MemberRef>) throws(StoreError) -> Set<String> {
        try read("find the groups of \(members.count) objects of \(directory)") { db in
            var result = Set<String>()
            let user = try db.cachedStatement(sql: """
                SELECT g.id FROM membership m JOIN "group" g ON g.ref = m.group_ref
                WHERE m.member_kind = 0 AND m.member_ref = (SELECT ref FROM "user" WHERE directory = ?1 AND id = ?2)
                """)
            let group = try db.cachedStatement(sql: """
                SELECT g.id FROM membership m JOIN "group" g ON g.ref = m.group_ref
                WHERE m.member_kind = 1 AND m.member_ref = (SELECT ref FROM "group" WHERE directory = ?1 AND id = ?2)
                """)
            for member in members {
                result.formUnion(try String.fetchAll(member.kind == .user ? user : group, arguments: [directory, member.id]))
            }
            return result
        }
    }

    /// Every unresolved member value of the directory: group id → values.
    public func unresolvedValues(directory: String) throws(StoreError) -> [String: Set<String>] {
        try read("read the unresolved member values of \(directory)") { db in
            var result: [String: Set<String>] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT g.id, u.value FROM unresolved_member u JOIN "group" g ON g.ref = u.group_ref WHERE g.directory = ?
                """, arguments: [directory])
            while let row = try rows.next() { result[row[0] as String, default: []].insert(row[1]) }
            return result
        }
    }

    /// Resolves normalised DNs (as ``DNKey`` makes them) to stored users and groups.
    public func objects(directory: String, dnKeys: Set<String>) throws(StoreError) -> [String: MemberRef] {
        try read("resolve \(dnKeys.count) DNs in \(directory)") { db in
            var result: [String: MemberRef] = [:]
            let user = try db.cachedStatement(sql: "SELECT id FROM \"user\" WHERE dn_key = ? AND directory = ?")
            let group = try db.cachedStatement(sql: "SELECT id FROM \"group\" WHERE dn_key = ? AND directory = ?")
            for key in dnKeys {
                if let id = try String.fetchOne(user, arguments: [key, directory]) {
                    result[key] = .user(id)
                } else if let id = try String.fetchOne(group, arguments: [key, directory]) {
                    result[key] = .group(id)
                }
            }
            return result
        }
    }

    /// Resolves usernames (posixGroup `memberUid`), case-insensitively, to stored user ids.
    public func users(directory: String, usernames: Set<String>) throws(StoreError) -> [String: String] {
        try read("resolve \(usernames.count) usernames in \(directory)") { db in
            var result: [String: String] = [:]
            let statement = try db.cachedStatement(sql: "SELECT id FROM \"user\" WHERE directory = ? AND username = ? COLLATE NOCASE")
            for name in usernames {
                if let id = try String.fetchOne(statement, arguments: [directory, name]) { result[name.lowercased()] = id }
            }
            return result
        }
    }

    /// AD: the stored users whose primary group is the group with this SID.
    public func users(directory: String, primaryGroup sid: String) throws(StoreError) -> Set<String> {
        try read("read the primary members of \(sid) in \(directory)") { db in
            Set(try String.fetchAll(db, sql: "SELECT id FROM \"user\" WHERE directory = ? AND primary_group = ?", arguments: [directory, sid]))
        }
    }

    /// AD: stored group ids by SID.
    public func groups(directory: String, sids: Set<String>) throws(StoreError) -> [String: String] {
        try read("look up \(sids.count) group SIDs in \(directory)") { db in
            var result: [String: String] = [:]
            let statement = try db.cachedStatement(sql: "SELECT id FROM \"group\" WHERE directory = ? AND sid = ?")
            for sid in sids {
                if let id = try String.fetchOne(statement, arguments: [directory, sid]) { result[sid] = id }
            }
            return result
        }
    }
}

extension Store {
    /// Every stored user and group id of a directory (a present phase subtracts from it).
    public func allIDs(directory: String) throws(StoreError) -> Set<String> {
        try read("read the ids of \(directory)") { db in
            Set(try String.fetchAll(db, sql: "SELECT id FROM \"user\" WHERE directory = ?1 UNION ALL SELECT id FROM \"group\" WHERE directory = ?1", arguments: [directory]))
        }
    }
}
