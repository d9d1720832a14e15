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
    /// What the reader needs to decide which groups it may skip: per stored user what its
    /// member values resolve through (DN and username, as a digest),
    /// per stored group its DN, change marker and member digest.
    public struct PriorState: Sendable {
        /// User id → ``DirectoryUser/resolutionDigest`` (0 when unknown).
        public var users: [String: UInt64] = [:]
        public var groups: [String: (dn: String, marker: String?, digest: MemberDigest?)] = [:]
        /// User id → the hash of its stored change marker, where one is stored.
        public var userMarkers: [String: UInt64] = [:]
        /// User id → ``DirectoryUser/stableDigest`` as stored (0 when unknown); filled from a
        /// digest-only header.
        public var userDigests: [String: UInt64] = [:]

        public init(_ header: Snapshot) {
            userMarkers = header.userMarkers
            userDigests = header.userDigests
            if header.partialUsers {
                users = header.userResolutionDigests
            } else {
                users.reserveCapacity(header.users.count)
                for (id, user) in header.users { users[id] = user.resolutionDigest }
            }
            for (id, group) in header.groups {
                groups[id] = (group.dn, header.groupMarkers[id], header.memberDigests[id])
            }
        }
    }

    /// Every stored membership of a directory, by group id (a first sync's worth of rows).
    func allMembers(directory: String) throws(StoreError) -> [String: Set<MemberRef>] {
        try read("read the members of \(directory)") { db in
            var userIDs: [Int64: String] = [:]
            var groupIDs: [Int64: String] = [:]
            let users = try Row.fetchCursor(db, sql: "SELECT ref, id FROM \"user\" WHERE directory = ?", arguments: [directory])
            while let row = try users.next() { userIDs[row[0]] = row[1] }
            let groups = try Row.fetchCursor(db, sql: "SELECT ref, id FROM \"group\" WHERE directory = ?", arguments: [directory])
            while let row = try groups.next() { groupIDs[row[0]] = row[1] }
            var result: [String: Set<MemberRef>] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT m.group_ref, m.member_kind, m.member_ref FROM membership m JOIN "group" g ON g.ref = m.group_ref
                WHERE g.directory = ?
                """, arguments: [directory])
            while let row = try rows.next() {
                guard let group = groupIDs[row[0]] else { continue }
                let kind: Int = row[1]
                guard let id = kind == 0 ? userIDs[row[2]] : groupIDs[row[2]] else { continue }
                result[group, default: []].insert(MemberRef(kind == 0 ? .user : .group, id))
            }
            return result
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
        var keys: [String: MemberRef]?
        return try members(directory: directory, groupIDs: groupIDs, keys: &keys)
    }

    /// ``members(directory:groupIDs:)``; with `keys` non-nil, also each member's DN key
    /// (normalised DN) → the member, to resolve the same member values again without lookups.
    public func members(directory: String, groupIDs: Set<String>, keys: inout [String: MemberRef]?) throws(StoreError) -> [String: Set<MemberRef>] {
        let wantsKeys = keys != nil
        let (result, found): ([String: Set<MemberRef>], [String: MemberRef]) = try read("read members of \(groupIDs.count) groups of \(directory)") { db in
            var result: [String: Set<MemberRef>] = [:]
            var found: [String: MemberRef] = [:]
            let statement = try db.cachedStatement(sql: """
                SELECT m.member_kind, COALESCE(u.id, c.id), COALESCE(u.dn_key, c.dn_key) FROM membership m
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
                    let ref = MemberRef((row[0] as Int) == 0 ? .user : .group, id)
                    members.insert(ref)
                    if wantsKeys, let key: String = row[2] { found[key] = ref }
                }
                result[group] = members
            }
            return (result, found)
        }
        if wantsKeys { keys = found }
        return result
    }
}
