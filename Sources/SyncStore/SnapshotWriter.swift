import Foundation
import GRDB
import SyncCore

/// Writes a plan into the snapshot tables inside the caller's transaction, with prepared
/// statements reused across rows (a first sync writes a million memberships).
struct SnapshotWriter {
    let db: Database
    let directory: String

    func write(_ plan: Plan) throws {
        let encoder = JSONEncoder()
        func aliases(_ user: DirectoryUser) throws -> String {
            user.aliases.isEmpty ? "[]" : String(decoding: try encoder.encode(user.aliases), as: UTF8.self)
        }
        // Removals first, so a DN freed by one object can be taken by another.
        let deleteMembership = try db.makeStatement(sql: "DELETE FROM membership WHERE directory = ? AND group_id = ? AND member_kind = ? AND member_id = ?")
        for membership in plan.membershipsRemoved {
            try deleteMembership.execute(arguments: [directory, membership.groupID, membership.member.kind.rawValue, membership.member.id])
        }
        let deleteUnresolved = try db.makeStatement(sql: "DELETE FROM unresolved_member WHERE directory = ? AND group_id = ? AND value = ?")
        for value in plan.unresolvedRemoved {
            try deleteUnresolved.execute(arguments: [directory, value.groupID, value.value])
        }
        let deleteUser = try db.makeStatement(sql: "DELETE FROM \"user\" WHERE directory = ? AND id = ?")
        for user in plan.usersRemoved { try deleteUser.execute(arguments: [directory, user.id]) }
        let deleteGroup = try db.makeStatement(sql: "DELETE FROM \"group\" WHERE directory = ? AND id = ?")
        for group in plan.groupsRemoved { try deleteGroup.execute(arguments: [directory, group.id]) }

        let upsertUser = try db.makeStatement(sql: """
            INSERT OR REPLACE INTO "user" (directory, id, dn, username, mail, aliases, display_name, disabled)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for user in plan.usersAdded + plan.usersChanged.map(\.after) {
            try upsertUser.execute(arguments: [
                directory, user.id, user.dn, user.username, user.mail, try aliases(user), user.displayName, user.disabled,
            ])
        }
        let upsertGroup = try db.makeStatement(sql: "INSERT OR REPLACE INTO \"group\" (directory, id, dn, name, mail) VALUES (?, ?, ?, ?, ?)")
        for group in plan.groupsAdded + plan.groupsChanged.map(\.after) {
            try upsertGroup.execute(arguments: [directory, group.id, group.dn, group.name, group.mail])
        }
        let insertMembership = try db.makeStatement(sql: "INSERT INTO membership (directory, group_id, member_kind, member_id) VALUES (?, ?, ?, ?)")
        for membership in plan.membershipsAdded {
            try insertMembership.execute(arguments: [directory, membership.groupID, membership.member.kind.rawValue, membership.member.id])
        }

        let insertUnresolved = try db.makeStatement(sql: "INSERT INTO unresolved_member (directory, group_id, value) VALUES (?, ?, ?)")
        for value in plan.unresolvedAdded {
            try insertUnresolved.execute(arguments: [directory, value.groupID, value.value])
        }
        // Digests last: they must describe the members as written above.
        let updateDigest = try db.makeStatement(sql: """
            UPDATE "group" SET members_sum = ?, members_xor = ?, members_count = ? WHERE directory = ? AND id = ?
            """)
        let removedGroups = Set(plan.groupsRemoved.map(\.id))
        for (group, digest) in plan.memberDigests where !removedGroups.contains(group) {
            try updateDigest.execute(arguments: [
                Int64(bitPattern: digest.sum), Int64(bitPattern: digest.xor), digest.count, directory, group,
            ])
        }
    }
}
