import GRDB
import SyncCore

extension Store {
    /// Every group a user belongs to, directly or through nested groups, from the stored
    /// snapshot: a recursive query that walks up the `membership_member` index, so it
    /// costs in proportion to the user's groups, not to the directory. Cycle-safe (UNION).
    public func effectiveGroups(directory: String, userID: String) throws(StoreError) -> Set<String> {
        try read("read the groups of \(userID)") { db in
            Set(try String.fetchAll(db, sql: """
                WITH RECURSIVE up(ref) AS (
                    SELECT m.group_ref FROM membership m
                    WHERE m.member_kind = 0 AND m.member_ref = (SELECT ref FROM "user" WHERE directory = ?1 AND id = ?2)
                    UNION
                    SELECT m.group_ref FROM membership m JOIN up ON m.member_kind = 1 AND m.member_ref = up.ref
                )
                SELECT g.id FROM up JOIN "group" g ON g.ref = up.ref
                """, arguments: [directory, userID]))
        }
    }
}

extension Store {
    /// What the reader needs to decide which groups it may skip: per stored user its DN and
    /// username, per stored group its DN, change marker and member digest.
    public struct PriorState: Sendable {
        public var users: [String: (dn: String, username: String?)] = [:]
        public var groups: [String: (dn: String, marker: String?, digest: MemberDigest?)] = [:]
    }

    public func priorState(directory: String) throws(StoreError) -> PriorState {
        try read("read the last snapshot's state of \(directory)") { db in
            var state = PriorState()
            let users = try Row.fetchCursor(db, sql: "SELECT id, dn, username FROM \"user\" WHERE directory = ?", arguments: [directory])
            while let row = try users.next() { state.users[row[0]] = (row[1], row[2]) }
            let groups = try Row.fetchCursor(db, sql: """
                SELECT id, dn, change_marker, members_sum, members_xor, members_count FROM "group" WHERE directory = ?
                """, arguments: [directory])
            while let row = try groups.next() {
                var digest: MemberDigest?
                if let sum: Int64 = row[3], let xor: Int64 = row[4], let count: Int = row[5] {
                    digest = MemberDigest(sum: UInt64(bitPattern: sum), xor: UInt64(bitPattern: xor), count: count)
                }
                state.groups[row[0]] = (row[1], row[2], digest)
            }
            return state
        }
    }

    /// The groups that are members of other groups: group id → its member groups.
    public func groupEdges(directory: String) throws(StoreError) -> [String: Set<String>] {
        try read("read the nested groups of \(directory)") { db in
            var edges: [String: Set<String>] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT g.id, c.id FROM membership m
                JOIN "group" g ON g.ref = m.group_ref JOIN "group" c ON c.ref = m.member_ref
                WHERE m.member_kind = 1 AND g.directory = ?
                """, arguments: [directory])
            while let row = try rows.next() { edges[row[0], default: []].insert(row[1]) }
            return edges
        }
    }

    /// The stored direct members of some groups.
    public func members(directory: String, groupIDs: Set<String>) throws(StoreError) -> [String: Set<MemberRef>] {
        try read("read members of \(groupIDs.count) groups of \(directory)") { db in
            var result: [String: Set<MemberRef>] = [:]
            let statement = try db.cachedStatement(sql: """
                SELECT m.member_kind, COALESCE(u.id, c.id) FROM membership m
                JOIN "group" g ON g.ref = m.group_ref
                LEFT JOIN "user" u ON m.member_kind = 0 AND u.ref = m.member_ref
                LEFT JOIN "group" c ON m.member_kind = 1 AND c.ref = m.member_ref
                WHERE g.directory = ? AND g.id = ?
                """)
            for group in groupIDs {
                var members = Set<MemberRef>()
                let rows = try Row.fetchCursor(statement, arguments: [directory, group])
                while let row = try rows.next() {
                    guard let id: String = row[1] else { continue }
                    members.insert(MemberRef((row[0] as Int) == 0 ? .user : .group, id))
                }
                result[group] = members
            }
            return result
        }
    }
}
