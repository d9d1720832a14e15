import Foundation
import PostgresNIO
import SyncCore
import SyncStore

/// The member-level reads of an incremental run whose changes are member values only
/// (``StoredGroupMembers``), as the SQLite store answers them.
extension PostgresStore {
    public func storedMembers(directory: String, groupIDs: Set<String>, withMembers: Bool) throws(StoreError) -> [String: StoredGroupMembers]? {
        try transaction("read the members of \(groupIDs.count) groups of \(directory)") { transaction in
            var result: [String: StoredGroupMembers] = [:]
            var idsByRef: [Int64: String] = [:]
            for row in try transaction.query("""
                SELECT id, dn, name, mail, members_sum, members_xor, members_count, change_marker, group_type, sid, ref,
                    EXISTS (SELECT 1 FROM unresolved_member WHERE group_ref = "group".ref)
                FROM "group" WHERE directory = \(directory) AND id = ANY(\(Array(groupIDs)))
                """) {
                let (id, dn, name, mail, sum, xor, count, marker, type, sid, ref, hasUnresolved) = try row.decode(
                    (String, String, String, String?, Int64?, Int64?, Int64?, String?, String?, String?, Int64, Bool).self)
                var digest: MemberDigest?
                if let sum, let xor, let count { digest = MemberDigest(sum: UInt64(bitPattern: sum), xor: UInt64(bitPattern: xor), count: Int(count)) }
                result[id] = StoredGroupMembers(
                    group: DirectoryGroup(id: id, dn: dn, name: name, mail: mail, type: type, sid: sid), marker: marker, digest: digest,
                    hasUnresolved: hasUnresolved, byKeyHash: [:], hashesCollide: false)
                idsByRef[ref] = id
            }
            guard withMembers, !idsByRef.isEmpty else { return result }
            for row in try transaction.query("""
                SELECT m.group_ref, m.member_kind, m.member_ref, COALESCE(u.dn_key, c.dn_key) FROM membership m
                LEFT JOIN "user" u ON m.member_kind = 0 AND u.ref = m.member_ref
                LEFT JOIN "group" c ON m.member_kind = 1 AND c.ref = m.member_ref
                WHERE m.group_ref = ANY(\(Array(idsByRef.keys)))
                """) {
                let (groupRef, kind, memberRef, key) = try row.decode((Int64, Int16, Int64, String?).self)
                guard let id = idsByRef[groupRef] else { continue }
                let member = StoredMember(kind: kind == 0 ? .user : .group, ref: memberRef)
                let hash = StableHash.of(key ?? "")
                if result[id]?.byKeyHash.updateValue(member, forKey: hash) != nil { result[id]?.hashesCollide = true }
            }
            return result
        }
    }

    public func memberIDs(directory: String, stored: Set<StoredMember>) throws(StoreError) -> [StoredMember: MemberRef] {
        let users = stored.filter { $0.kind == .user }.map(\.ref), groups = stored.filter { $0.kind == .group }.map(\.ref)
        return try transaction("read the ids of \(stored.count) members of \(directory)") { transaction in
            var result: [StoredMember: MemberRef] = [:]
            for row in try transaction.query(#"SELECT ref, id FROM "user" WHERE directory = \#(directory) AND ref = ANY(\#(users))"#) {
                let (ref, id) = try row.decode((Int64, String).self)
                result[StoredMember(kind: .user, ref: ref)] = .user(id)
            }
            for row in try transaction.query(#"SELECT ref, id FROM "group" WHERE directory = \#(directory) AND ref = ANY(\#(groups))"#) {
                let (ref, id) = try row.decode((Int64, String).self)
                result[StoredMember(kind: .group, ref: ref)] = .group(id)
            }
            return result
        }
    }

    public func directGroups(directory: String, userIDs: Set<String>) throws(StoreError) -> [String: Set<String>] {
        try transaction("read the groups of \(userIDs.count) users of \(directory)") { transaction in
            var result: [String: Set<String>] = [:]
            for row in try transaction.query("""
                SELECT u.id, g.id FROM "user" u
                JOIN membership m ON m.member_kind = 0 AND m.member_ref = u.ref
                JOIN "group" g ON g.ref = m.group_ref
                WHERE u.directory = \(directory) AND u.id = ANY(\(Array(userIDs)))
                """) {
                let (user, group) = try row.decode((String, String).self)
                result[user, default: []].insert(group)
            }
            return result
        }
    }

    public func userMemberships(directory: String, pairs: Set<Membership>) throws(StoreError) -> Set<Membership> {
        let asked = Array(pairs.filter { $0.member.kind == .user })
        guard !asked.isEmpty else { return [] }
        return try transaction("look up \(asked.count) memberships of \(directory)") { transaction in
            var result = Set<Membership>()
            for row in try transaction.query("""
                SELECT g.id, u.id FROM unnest(\(asked.map(\.groupID)), \(asked.map(\.member.id))) AS p(group_id, user_id)
                JOIN "group" g ON g.directory = \(directory) AND g.id = p.group_id
                JOIN "user" u ON u.directory = \(directory) AND u.id = p.user_id
                WHERE EXISTS (SELECT 1 FROM membership m WHERE m.group_ref = g.ref AND m.member_kind = 0 AND m.member_ref = u.ref)
                """) {
                let (group, user) = try row.decode((String, String).self)
                result.insert(Membership(groupID: group, member: .user(user)))
            }
            return result
        }
    }

    public func groups(directory: String, ids: Set<String>) throws(StoreError) -> [String: DirectoryGroup] {
        try transaction("read \(ids.count) groups of \(directory)") { transaction in
            var result: [String: DirectoryGroup] = [:]
            for row in try transaction.query("""
                SELECT id, dn, name, mail, group_type, sid FROM "group" WHERE directory = \(directory) AND id = ANY(\(Array(ids)))
                """) {
                let (id, dn, name, mail, type, sid) = try row.decode((String, String, String, String?, String?, String?).self)
                result[id] = DirectoryGroup(id: id, dn: dn, name: name, mail: mail, type: type, sid: sid)
            }
            return result
        }
    }
}
