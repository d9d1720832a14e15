import Foundation
import PostgresNIO
import SyncCore
import SyncStore

/// The reads a sync run makes besides the whole snapshot, as ``Store`` answers them in
/// SQLite: the digest-only header and what completes it, and the lookups of incremental
/// runs. Sets of ids go in as one array parameter (`= ANY($1)`) instead of chunked `IN` lists.
extension PostgresStore {
    static let userColumns = "id, dn, username, mail, aliases, display_name, disabled, primary_group"

    static func user(_ row: PostgresRow, decoder: JSONDecoder) throws -> DirectoryUser {
        let (id, dn, username, mail, aliases, displayName, disabled, primaryGroup) = try row.decode(
            (String, String, String?, String?, String, String?, Bool, String?).self)
        return DirectoryUser(
            id: id, dn: dn, username: username, mail: mail,
            aliases: aliases == "[]" ? [] : try decoder.decode([String].self, from: Data(aliases.utf8)),
            displayName: displayName, disabled: disabled, primaryGroup: primaryGroup)
    }

    /// Users, groups (with member digests and change markers) and unresolved values, but no
    /// members: every group is in `unloadedGroups`. With `usersByDigest`, users as digests
    /// only (`partialUsers`; ``loadUsers(_:directory:differingFrom:)`` reads the ones needed).
    public func header(directory: String, usersByDigest: Bool = false, resolutionDigests: Bool = true) throws(StoreError) -> Snapshot {
        try transaction("read the snapshot of \(directory)") { transaction -> Snapshot in
            var snapshot = Snapshot()
            if usersByDigest {
                snapshot.partialUsers = true
                for row in try transaction.query(
                    #"SELECT id, digest, resolution_digest, change_marker_hash FROM "user" WHERE directory = \#(directory)"#) {
                    let (id, digest, resolution, marker) = try row.decode((String, Int64?, Int64?, Int64?).self)
                    // 0: unknown, never equal to a computed digest, so the user is read.
                    snapshot.userDigests[id] = digest.map { UInt64(bitPattern: $0) } ?? 0
                    if resolutionDigests { snapshot.userResolutionDigests[id] = resolution.map { UInt64(bitPattern: $0) } ?? 0 }
                    if resolutionDigests, let marker { snapshot.userMarkers[id] = UInt64(bitPattern: marker) }
                }
            } else {
                let decoder = JSONDecoder()
                for row in try transaction.query(#"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE directory = \#(directory)"#) {
                    let user = try Self.user(row, decoder: decoder)
                    snapshot.users[user.id] = user
                }
            }
            for row in try transaction.query("""
                SELECT id, dn, name, mail, members_sum, members_xor, members_count, change_marker, group_type, sid
                FROM "group" WHERE directory = \(directory)
                """) {
                snapshot.unloadedGroups.insert(try Self.addGroup(row, to: &snapshot))
            }
            for row in try transaction.query("""
                SELECT g.id, u.value FROM unresolved_member u JOIN "group" g ON g.ref = u.group_ref WHERE g.directory = \(directory)
                """) {
                let (group, value) = try row.decode((String, String).self)
                snapshot.unresolved[group, default: []].insert(value)
            }
            return snapshot
        }
    }

    /// A group row (id, dn, name, mail, members_sum, members_xor, members_count,
    /// change_marker, group_type, sid) into a snapshot, with its digest and marker.
    @discardableResult
    static func addGroup(_ row: PostgresRow, to snapshot: inout Snapshot) throws -> String {
        let (id, dn, name, mail, sum, xor, count, marker, type, sid) = try row.decode(
            (String, String, String, String?, Int64?, Int64?, Int64?, String?, String?, String?).self)
        snapshot.groups[id] = DirectoryGroup(id: id, dn: dn, name: name, mail: mail, type: type, sid: sid)
        if let marker { snapshot.groupMarkers[id] = marker }
        if let sum, let xor, let count {
            snapshot.memberDigests[id] = MemberDigest(sum: UInt64(bitPattern: sum), xor: UInt64(bitPattern: xor), count: Int(count))
        }
        return id
    }

    /// Reads the users of a digest-only header that a run needs: those whose digest differs
    /// from `wanted`'s, and those `wanted` lacks.
    public func loadUsers(_ snapshot: inout Snapshot, directory: String, differingFrom wanted: Snapshot) throws(StoreError) {
        let needed = snapshot.usersToLoad(differingFrom: wanted)
        guard !needed.isEmpty else { return }
        let operation = "read \(needed.count) users of \(directory)"
        let users = try transaction(operation) { transaction -> [DirectoryUser] in
            let decoder = JSONDecoder()
            return try transaction.query(#"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE directory = \#(directory) AND id = ANY(\#(needed))"#)
                .map { try Self.user($0, decoder: decoder) }
        }
        for user in users { snapshot.users[user.id] = user }
    }

    /// Fills in the members of a ``header(directory:usersByDigest:resolutionDigests:)``:
    /// taken from `wanted` where the digests agree (left unloaded where `wanted` left them
    /// unloaded), read from the store elsewhere.
    public func completeMembers(_ snapshot: inout Snapshot, directory: String, reusingMembersOf wanted: Snapshot? = nil) throws(StoreError) {
        let unread = snapshot.reuseMembers(of: wanted)
        guard !unread.isEmpty else { return }
        snapshot.fillMembers(try members(directory: directory, groupIDs: unread), of: unread)
    }

    /// The stored direct members of some groups.
    public func members(directory: String, groupIDs: Set<String>) throws(StoreError) -> [String: Set<MemberRef>] {
        var keys: [String: MemberRef]?
        return try members(directory: directory, groupIDs: groupIDs, keys: &keys)
    }

    /// ``members(directory:groupIDs:)``; with `keys` non-nil, also each member's DN key → the member.
    public func members(directory: String, groupIDs: Set<String>, keys: inout [String: MemberRef]?) throws(StoreError) -> [String: Set<MemberRef>] {
        let wantsKeys = keys != nil
        let (result, found) = try transaction("read members of \(groupIDs.count) groups of \(directory)") { transaction in
            var result: [String: Set<MemberRef>] = [:]
            var found: [String: MemberRef] = [:]
            // Every group asked about has an entry, as in SQLite (empty when it has no members or is not stored).
            for group in groupIDs { result[group] = [] }
            for row in try transaction.query("""
                SELECT g.id, m.member_kind, COALESCE(u.id, c.id), COALESCE(u.dn_key, c.dn_key) FROM membership m
                JOIN "group" g ON g.ref = m.group_ref
                LEFT JOIN "user" u ON m.member_kind = 0 AND u.ref = m.member_ref
                LEFT JOIN "group" c ON m.member_kind = 1 AND c.ref = m.member_ref
                WHERE g.directory = \(directory) AND g.id = ANY(\(Array(groupIDs)))
                """) {
                let (group, kind, id, key) = try row.decode((String, Int16, String?, String?).self)
                guard let id else { continue }
                let ref = MemberRef(kind == 0 ? .user : .group, id)
                result[group, default: []].insert(ref)
                if wantsKeys, let key { found[key] = ref }
            }
            return (result, found)
        }
        if wantsKeys { keys = found }
        return result
    }

    /// The groups that are members of other groups: group id → its member groups.
    public func groupEdges(directory: String) throws(StoreError) -> [String: Set<String>] {
        try transaction("read the nested groups of \(directory)") { transaction in
            var edges: [String: Set<String>] = [:]
            for row in try transaction.query("""
                SELECT g.id, c.id FROM membership m
                JOIN "group" g ON g.ref = m.group_ref JOIN "group" c ON c.ref = m.member_ref
                WHERE m.member_kind = 1 AND g.directory = \(directory)
                """) {
                let (group, member) = try row.decode((String, String).self)
                edges[group, default: []].insert(member)
            }
            return edges
        }
    }

    /// Every group a user belongs to, directly or through nested groups (cycle-safe: UNION).
    public func effectiveGroups(directory: String, userID: String) throws(StoreError) -> Set<String> {
        try transaction("read the groups of \(userID)") { transaction in
            Set(try transaction.query("""
                WITH RECURSIVE up(ref) AS (
                    SELECT m.group_ref FROM membership m
                    WHERE m.member_kind = 0 AND m.member_ref = (SELECT ref FROM "user" WHERE directory = \(directory) AND id = \(userID))
                    UNION
                    SELECT m.group_ref FROM membership m JOIN up ON m.member_kind = 1 AND m.member_ref = up.ref
                )
                SELECT g.id FROM up JOIN "group" g ON g.ref = up.ref
                """).map { try $0.decode(String.self) })
        }
    }

    // MARK: Incremental lookups

    /// Which of these ids are stored users and which stored groups.
    public func kinds(directory: String, ids: Set<String>) throws(StoreError) -> [String: MemberRef.Kind] {
        try transaction("look up \(ids.count) objects of \(directory)") { transaction in
            var result: [String: MemberRef.Kind] = [:]
            let list = Array(ids)
            for row in try transaction.query(#"SELECT id FROM "user" WHERE directory = \#(directory) AND id = ANY(\#(list))"#) {
                result[try row.decode(String.self)] = .user
            }
            for row in try transaction.query(#"SELECT id FROM "group" WHERE directory = \#(directory) AND id = ANY(\#(list))"#) {
                let id = try row.decode(String.self)
                if result[id] == nil { result[id] = .group }
            }
            return result
        }
    }

    /// A snapshot of just these users and groups as stored: the groups with their members,
    /// member digests, change markers and unresolved values.
    public func partialSnapshot(directory: String, userIDs: Set<String>, groupIDs: Set<String>) throws(StoreError) -> Snapshot {
        var keys: [String: MemberRef]?
        return try partialSnapshot(directory: directory, userIDs: userIDs, groupIDs: groupIDs, memberKeys: &keys)
    }

    public func partialSnapshot(
        directory: String, userIDs: Set<String>, groupIDs: Set<String>, memberKeys: inout [String: MemberRef]?
    ) throws(StoreError) -> Snapshot {
        var snapshot = try transaction("read \(userIDs.count) users and \(groupIDs.count) groups of \(directory)") { transaction -> Snapshot in
            var snapshot = Snapshot()
            let decoder = JSONDecoder()
            if !userIDs.isEmpty {
                for row in try transaction.query(#"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE directory = \#(directory) AND id = ANY(\#(Array(userIDs)))"#) {
                    let user = try Self.user(row, decoder: decoder)
                    snapshot.users[user.id] = user
                }
            }
            if !groupIDs.isEmpty {
                for row in try transaction.query("""
                    SELECT id, dn, name, mail, members_sum, members_xor, members_count, change_marker, group_type, sid
                    FROM "group" WHERE directory = \(directory) AND id = ANY(\(Array(groupIDs)))
                    """) {
                    try Self.addGroup(row, to: &snapshot)
                }
                for row in try transaction.query("""
                    SELECT g.id, u.value FROM unresolved_member u JOIN "group" g ON g.ref = u.group_ref
                    WHERE g.directory = \(directory) AND g.id = ANY(\(Array(groupIDs)))
                    """) {
                    let (group, value) = try row.decode((String, String).self)
                    snapshot.unresolved[group, default: []].insert(value)
                }
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
        let users = members.filter { $0.kind == .user }.map(\.id)
        let groups = members.filter { $0.kind == .group }.map(\.id)
        return try transaction("find the groups of \(members.count) objects of \(directory)") { transaction in
            Set(try transaction.query("""
                SELECT g.id FROM membership m JOIN "group" g ON g.ref = m.group_ref
                WHERE (m.member_kind = 0 AND m.member_ref IN (SELECT ref FROM "user" WHERE directory = \(directory) AND id = ANY(\(users))))
                   OR (m.member_kind = 1 AND m.member_ref IN (SELECT ref FROM "group" WHERE directory = \(directory) AND id = ANY(\(groups))))
                """).map { try $0.decode(String.self) })
        }
    }

    /// Every unresolved member value of the directory: group id → values.
    public func unresolvedValues(directory: String) throws(StoreError) -> [String: Set<String>] {
        try transaction("read the unresolved member values of \(directory)") { transaction in
            var result: [String: Set<String>] = [:]
            for row in try transaction.query("""
                SELECT g.id, u.value FROM unresolved_member u JOIN "group" g ON g.ref = u.group_ref WHERE g.directory = \(directory)
                """) {
                let (group, value) = try row.decode((String, String).self)
                result[group, default: []].insert(value)
            }
            return result
        }
    }

    /// Resolves normalised DNs (as ``DNKey`` makes them) to stored users and groups.
    public func objects(directory: String, dnKeys: Set<String>) throws(StoreError) -> [String: MemberRef] {
        try transaction("resolve \(dnKeys.count) DNs in \(directory)") { transaction in
            var result: [String: MemberRef] = [:]
            let keys = Array(dnKeys)
            for row in try transaction.query(#"SELECT dn_key, id FROM "user" WHERE dn_key = ANY(\#(keys)) AND directory = \#(directory)"#) {
                let (key, id) = try row.decode((String, String).self)
                result[key] = .user(id)
            }
            for row in try transaction.query(#"SELECT dn_key, id FROM "group" WHERE dn_key = ANY(\#(keys)) AND directory = \#(directory)"#) {
                let (key, id) = try row.decode((String, String).self)
                if result[key] == nil { result[key] = .group(id) }
            }
            return result
        }
    }

    /// Resolves usernames (posixGroup `memberUid`), case-insensitively, to stored user ids.
    /// (SQLite's NOCASE folds ASCII letters only; so does this, to answer alike.)
    public func users(directory: String, usernames: Set<String>) throws(StoreError) -> [String: String] {
        try transaction("resolve \(usernames.count) usernames in \(directory)") { transaction in
            var result: [String: String] = [:]
            for name in usernames {
                let rows = try transaction.query("""
                    SELECT id FROM "user" WHERE directory = \(directory) AND lower(username) = lower(\(name))
                      AND translate(username, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                        = translate(\(name), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                    ORDER BY ref LIMIT 1
                    """)
                if let row = rows.first { result[name.lowercased()] = try row.decode(String.self) }
            }
            return result
        }
    }

    /// AD: the stored users whose primary group is the group with this SID.
    public func users(directory: String, primaryGroup sid: String) throws(StoreError) -> Set<String> {
        try transaction("read the primary members of \(sid) in \(directory)") { transaction in
            Set(try transaction.query(#"SELECT id FROM "user" WHERE directory = \#(directory) AND primary_group = \#(sid)"#).map { try $0.decode(String.self) })
        }
    }

    /// AD: stored group ids by SID.
    public func groups(directory: String, sids: Set<String>) throws(StoreError) -> [String: String] {
        try transaction("look up \(sids.count) group SIDs in \(directory)") { transaction in
            var result: [String: String] = [:]
            for row in try transaction.query(#"SELECT sid, id FROM "group" WHERE directory = \#(directory) AND sid = ANY(\#(Array(sids)))"#) {
                let (sid, id) = try row.decode((String, String).self)
                if result[sid] == nil { result[sid] = id }
            }
            return result
        }
    }

    /// Every stored user and group id of a directory.
    public func allIDs(directory: String) throws(StoreError) -> Set<String> {
        try transaction("read the ids of \(directory)") { transaction in
            Set(try transaction.query(#"SELECT id FROM "user" WHERE directory = \#(directory) UNION ALL SELECT id FROM "group" WHERE directory = \#(directory)"#)
                .map { try $0.decode(String.self) })
        }
    }

    // MARK: Checks

    /// Proves the store can be written (`groupsync check`): a transaction that writes and rolls back.
    public func probeWritable() throws(StoreError) {
        do {
            try session.transaction { transaction in
                try transaction.query("CREATE TEMPORARY TABLE check_probe (x INTEGER) ON COMMIT DROP")
                try transaction.query(#"SELECT ref FROM "user" LIMIT 1 FOR UPDATE"#)
            }
        } catch {
            throw StoreError(path: label, operation: "write to the store", underlying: error)
        }
    }

    /// The snapshot's own consistency (PostgreSQL checks its files itself): memberships,
    /// addresses and unresolved values that point at objects the store lacks.
    public func integrityProblems() throws(StoreError) -> [String] {
        try transaction("check the integrity") { transaction in
            let row = try transaction.query("""
                SELECT
                  (SELECT count(*) FROM membership m WHERE NOT EXISTS (SELECT 1 FROM "group" g WHERE g.ref = m.group_ref)),
                  (SELECT count(*) FROM membership m WHERE m.member_kind = 0 AND NOT EXISTS (SELECT 1 FROM "user" u WHERE u.ref = m.member_ref)),
                  (SELECT count(*) FROM membership m WHERE m.member_kind = 1 AND NOT EXISTS (SELECT 1 FROM "group" g WHERE g.ref = m.member_ref)),
                  (SELECT count(*) FROM user_address a WHERE NOT EXISTS (SELECT 1 FROM "user" u WHERE u.ref = a.user_ref)),
                  (SELECT count(*) FROM unresolved_member x WHERE NOT EXISTS (SELECT 1 FROM "group" g WHERE g.ref = x.group_ref))
                """).first!
            let (groupless, userless, memberless, addresses, unresolved) = try row.decode((Int64, Int64, Int64, Int64, Int64).self)
            var problems: [String] = []
            if groupless > 0 { problems.append("\(groupless) memberships of groups the store lacks") }
            if userless > 0 { problems.append("\(userless) memberships of users the store lacks") }
            if memberless > 0 { problems.append("\(memberless) memberships of member groups the store lacks") }
            if addresses > 0 { problems.append("\(addresses) addresses of users the store lacks") }
            if unresolved > 0 { problems.append("\(unresolved) unresolved values of groups the store lacks") }
            return problems
        }
    }
}
