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
            for id in try Self.matching(db, table: "user", column: "id", directory: directory, keys: ids).keys { result[id] = .user }
            for id in try Self.matching(db, table: "group", column: "id", directory: directory, keys: ids).keys where result[id] == nil {
                result[id] = .group
            }
            return result
        }
    }

    /// `column` value → `id` of the rows of a directory whose `column` is one of `keys`,
    /// a few hundred keys per statement (an indexed `IN` list).
    static func matching(_ db: Database, table: String, column: String, directory: String, keys: Set<String>) throws -> [String: String] {
        var result: [String: String] = [:]
        try inChunks(keys) { chunk, placeholders in
            // By id, the (directory, id) index; by another column, that column's own index
            // (`+directory` keeps SQLite from scanning the directory's rows instead).
            let sql = column == "id"
                ? "SELECT id, id FROM \"\(table)\" WHERE directory = ? AND id IN (\(placeholders))"
                : "SELECT \(column), id FROM \"\(table)\" WHERE \(column) IN (\(placeholders)) AND +directory = ?"
            let arguments = column == "id" ? [directory] + chunk : chunk + [directory]
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try rows.next() { result[row[0]] = row[1] }
        }
        return result
    }

    /// Calls `body` with the keys a few hundred at a time and the `?,?,…` list for an `IN`.
    static func inChunks(_ keys: some Collection<String>, _ body: ([String], String) throws -> Void) rethrows {
        let list = Array(keys)
        for start in stride(from: 0, to: list.count, by: 500) {
            let chunk = Array(list[start..<min(start + 500, list.count)])
            try body(chunk, Array(repeating: "?", count: chunk.count).joined(separator: ","))
        }
    }

    /// A snapshot of just these users and groups as stored: the groups with their members,
    /// member digests, change markers and unresolved values.
    public func partialSnapshot(directory: String, userIDs: Set<String>, groupIDs: Set<String>) throws(StoreError) -> Snapshot {
        var keys: [String: MemberRef]?
        return try partialSnapshot(directory: directory, userIDs: userIDs, groupIDs: groupIDs, memberKeys: &keys)
    }

    /// ``partialSnapshot(directory:userIDs:groupIDs:)``, with the members' DN keys when
    /// `memberKeys` is non-nil (see ``members(directory:groupIDs:keys:)``).
    public func partialSnapshot(
        directory: String, userIDs: Set<String>, groupIDs: Set<String>, memberKeys: inout [String: MemberRef]?
    ) throws(StoreError) -> Snapshot {
        var snapshot = try read("read \(userIDs.count) users and \(groupIDs.count) groups of \(directory)") { db in
            var snapshot = Snapshot()
            let decoder = JSONDecoder()
            try Self.inChunks(userIDs) { chunk, placeholders in
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT id, dn, username, mail, aliases, display_name, disabled, primary_group FROM "user"
                    WHERE directory = ? AND id IN (\(placeholders))
                    """, arguments: StatementArguments([directory] + chunk))
                while let row = try rows.next() {
                    let id: String = row[0]
                    snapshot.users[id] = DirectoryUser(
                        id: id, dn: row[1], username: row[2], mail: row[3], aliases: try Self.aliases(row[4], decoder: decoder),
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
        for (group, members) in try members(directory: directory, groupIDs: present, keys: &memberKeys) where !members.isEmpty {
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
            for (key, id) in try Self.matching(db, table: "user", column: "dn_key", directory: directory, keys: dnKeys) { result[key] = .user(id) }
            let rest = dnKeys.filter { result[$0] == nil }
            for (key, id) in try Self.matching(db, table: "group", column: "dn_key", directory: directory, keys: rest) { result[key] = .group(id) }
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
