import Foundation
import GRDB
import SyncCore

/// A stored member by its row: kind and `ref`, without its id (an incremental run reads the
/// members of a thousand groups and needs the ids of the few that left).
public struct StoredMember: Hashable, Sendable {
    public var kind: MemberRef.Kind
    public var ref: Int64

    public init(kind: MemberRef.Kind, ref: Int64) {
        self.kind = kind
        self.ref = ref
    }
}

/// A stored group as an incremental run compares its new member values with it: the group,
/// its change marker and member digest, whether it has unresolved values, and its direct
/// members keyed by the stable hash of their DN key (``StableHash/of(_:)-([UInt8])``).
public struct StoredGroupMembers: Sendable {
    public var group: DirectoryGroup
    public var marker: String?
    public var digest: MemberDigest?
    public var hasUnresolved: Bool
    public var byKeyHash: [UInt64: StoredMember]
    /// Two members whose DN keys hash alike: the hashes cannot stand for the keys.
    public var hashesCollide: Bool

    public init(
        group: DirectoryGroup, marker: String?, digest: MemberDigest?, hasUnresolved: Bool, byKeyHash: [UInt64: StoredMember] = [:],
        hashesCollide: Bool = false
    ) {
        self.group = group
        self.marker = marker
        self.digest = digest
        self.hasUnresolved = hasUnresolved
        self.byKeyHash = byKeyHash
        self.hashesCollide = hashesCollide
    }
}

extension Store {
    /// The groups with these ids as stored, each with its members keyed by DN-key hash
    /// (with `withMembers`). Member DN keys are hashed straight from SQLite's buffers: no
    /// string per member.
    public func storedMembers(directory: String, groupIDs: Set<String>, withMembers: Bool) throws(StoreError) -> [String: StoredGroupMembers]? {
        try read("read the members of \(groupIDs.count) groups of \(directory)") { db in
            var result: [String: StoredGroupMembers] = [:]
            let group = try db.cachedStatement(sql: """
                SELECT id, dn, name, mail, members_sum, members_xor, members_count, change_marker, group_type, sid, ref,
                    EXISTS (SELECT 1 FROM unresolved_member WHERE group_ref = "group".ref)
                FROM "group" WHERE directory = ? AND id = ?
                """)
            let memberRows = try db.cachedStatement(sql: """
                SELECT m.member_kind, m.member_ref, COALESCE(u.dn_key, c.dn_key) FROM membership m
                LEFT JOIN "user" u ON m.member_kind = 0 AND u.ref = m.member_ref
                LEFT JOIN "group" c ON m.member_kind = 1 AND c.ref = m.member_ref
                WHERE m.group_ref = ?
                """)
            for id in groupIDs {
                guard let row = try Row.fetchOne(group, arguments: [directory, id]) else { continue }
                var stored = StoredGroupMembers(
                    group: DirectoryGroup(id: row[0], dn: row[1], name: row[2], mail: row[3], type: row[8], sid: row[9]),
                    marker: row[7], digest: nil, hasUnresolved: row[11], byKeyHash: [:], hashesCollide: false)
                if let sum: Int64 = row[4], let xor: Int64 = row[5], let count: Int = row[6] {
                    stored.digest = MemberDigest(sum: UInt64(bitPattern: sum), xor: UInt64(bitPattern: xor), count: count)
                }
                guard withMembers else {
                    result[id] = stored
                    continue
                }
                let members = try DirectRows(db, statement: memberRows, arguments: [row[10] as Int64])
                stored.byKeyHash.reserveCapacity(stored.digest?.count ?? 0)
                try members.forEach { columns in
                    let member = StoredMember(kind: columns.int64(0) == 0 ? .user : .group, ref: columns.int64(1))
                    let hash = columns.withBytes(2) { StableHash.of($0) }
                    if stored.byKeyHash.updateValue(member, forKey: hash) != nil { stored.hashesCollide = true }
                }
                result[id] = stored
            }
            return result
        }
    }

    /// The ids of stored members given by row.
    public func memberIDs(directory: String, stored: Set<StoredMember>) throws(StoreError) -> [StoredMember: MemberRef] {
        try read("read the ids of \(stored.count) members of \(directory)") { db in
            var result: [StoredMember: MemberRef] = [:]
            let user = try db.cachedStatement(sql: "SELECT id FROM \"user\" WHERE ref = ? AND directory = ?")
            let group = try db.cachedStatement(sql: "SELECT id FROM \"group\" WHERE ref = ? AND directory = ?")
            for member in stored {
                let statement = member.kind == .user ? user : group
                if let id = try String.fetchOne(statement, arguments: [member.ref, directory]) { result[member] = MemberRef(member.kind, id) }
            }
            return result
        }
    }

    /// Each of these users' direct groups as stored (users in none are absent).
    public func directGroups(directory: String, userIDs: Set<String>) throws(StoreError) -> [String: Set<String>] {
        try read("read the groups of \(userIDs.count) users of \(directory)") { db in
            var result: [String: Set<String>] = [:]
            try Self.inChunks(userIDs) { chunk, placeholders in
                // CROSS JOIN keeps this order (the users by id, then their rows in
                // membership_member); left to itself SQLite scans every user membership.
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT u.id, g.id FROM "user" u
                    CROSS JOIN membership m ON m.member_kind = 0 AND m.member_ref = u.ref
                    CROSS JOIN "group" g ON g.ref = m.group_ref
                    WHERE u.directory = ? AND u.id IN (\(placeholders))
                    """, arguments: StatementArguments([directory] + chunk))
                while let row = try rows.next() { result[row[0], default: []].insert(row[1]) }
            }
            return result
        }
    }

    public func userMemberships(directory: String, pairs: Set<Membership>) throws(StoreError) -> Set<Membership> {
        let asked = pairs.filter { $0.member.kind == .user }
        guard !asked.isEmpty else { return [] }
        return try read("look up \(asked.count) memberships of \(directory)") { db in
            var result = Set<Membership>()
            // Each pair's group and user by their (directory, id) keys, then the membership's
            // primary key: three index lookups per pair, in the pairs' order (CROSS JOIN).
            let statement = try db.cachedStatement(sql: """
                SELECT g.id, u.id FROM json_each(?1) p
                CROSS JOIN "group" g ON g.directory = ?2 AND g.id = p.value ->> 0
                CROSS JOIN "user" u ON u.directory = ?2 AND u.id = p.value ->> 1
                WHERE EXISTS (SELECT 1 FROM membership m WHERE m.group_ref = g.ref AND m.member_kind = 0 AND m.member_ref = u.ref)
                """)
            let list = asked.map { [$0.groupID, $0.member.id] }
            for start in stride(from: 0, to: list.count, by: 5000) {
                let json = String(decoding: try JSONEncoder().encode(Array(list[start..<min(start + 5000, list.count)])), as: UTF8.self)
                let rows = try Row.fetchCursor(statement, arguments: [json, directory])
                while let row = try rows.next() { result.insert(Membership(groupID: row[0], member: .user(row[1]))) }
            }
            return result
        }
    }

    /// These groups as stored, without their members.
    public func groups(directory: String, ids: Set<String>) throws(StoreError) -> [String: DirectoryGroup] {
        try read("read \(ids.count) groups of \(directory)") { db in
            var result: [String: DirectoryGroup] = [:]
            try Self.inChunks(ids) { chunk, placeholders in
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT id, dn, name, mail, group_type, sid FROM "group" WHERE directory = ? AND id IN (\(placeholders))
                    """, arguments: StatementArguments([directory] + chunk))
                while let row = try rows.next() {
                    result[row[0]] = DirectoryGroup(id: row[0], dn: row[1], name: row[2], mail: row[3], type: row[4], sid: row[5])
                }
            }
            return result
        }
    }
}
