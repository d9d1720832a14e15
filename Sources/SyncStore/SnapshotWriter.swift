import Foundation
import GRDB
import SyncCore

/// Writes a plan into the snapshot tables inside the caller's transaction, with prepared
/// statements reused across rows (a first sync writes a million memberships). Objects are
/// addressed by their integer `ref`; ids are mapped to refs once, up front.
struct SnapshotWriter {
    let db: Database
    let directory: String

    func write(_ plan: Plan) throws {
        // A small plan (an incremental run) reads the refs of the objects it names; a large
        // one (a first sync) all of them in one scan.
        var userRefs: [String: Int64]
        var groupRefs: [String: Int64]
        if plan.membershipsAddedCount + plan.membershipsRemoved.count < 50_000 {
            var users = Set<String>(), groups = Set<String>()
            for user in plan.usersRemoved { users.insert(user.id) }
            for change in plan.usersChanged { users.insert(change.after.id) }
            for group in plan.groupsRemoved { groups.insert(group.id) }
            for change in plan.groupsChanged { groups.insert(change.after.id) }
            for membership in plan.membershipsAdded + plan.membershipsRemoved {
                groups.insert(membership.groupID)
                if membership.member.kind == .user { users.insert(membership.member.id) } else { groups.insert(membership.member.id) }
            }
            for (group, members) in plan.newGroupMembers {
                groups.insert(group)
                for member in members { if member.kind == .user { users.insert(member.id) } else { groups.insert(member.id) } }
            }
            for value in plan.unresolvedAdded + plan.unresolvedRemoved { groups.insert(value.groupID) }
            groups.formUnion(plan.groupMarkers.keys)
            groups.formUnion(plan.memberDigests.keys)
            userRefs = try refs("user", ids: users)
            groupRefs = try refs("group", ids: groups)
        } else {
            userRefs = try refs("user")
            groupRefs = try refs("group")
        }
        func ref(_ member: MemberRef) throws -> Int64 {
            let found = member.kind == .user ? userRefs[member.id] : groupRefs[member.id]
            guard let found else { throw StoreInconsistency("no stored \(member.kind.rawValue) with id \(member.id)") }
            return found
        }
        func groupRef(_ id: String) throws -> Int64 {
            guard let found = groupRefs[id] else { throw StoreInconsistency("no stored group with id \(id)") }
            return found
        }

        // Removals first: edges, then the objects they point at.
        let deleteMembership = try db.makeStatement(sql: "DELETE FROM membership WHERE group_ref = ? AND member_kind = ? AND member_ref = ?")
        for membership in plan.membershipsRemoved {
            try deleteMembership.execute(arguments: [try groupRef(membership.groupID), membership.member.kind.code, try ref(membership.member)])
        }
        let deleteUnresolved = try db.makeStatement(sql: "DELETE FROM unresolved_member WHERE group_ref = ? AND value = ?")
        for value in plan.unresolvedRemoved {
            try deleteUnresolved.execute(arguments: [try groupRef(value.groupID), value.value])
        }
        let deleteUser = try db.makeStatement(sql: "DELETE FROM \"user\" WHERE ref = ?")
        let deleteAddresses = try db.makeStatement(sql: "DELETE FROM user_address WHERE user_ref = ?")
        for user in plan.usersRemoved {
            let userRef = try ref(.user(user.id))
            try deleteAddresses.execute(arguments: [userRef])
            try deleteUser.execute(arguments: [userRef])
            userRefs[user.id] = nil
        }
        let deleteGroup = try db.makeStatement(sql: "DELETE FROM \"group\" WHERE ref = ?")
        for group in plan.groupsRemoved {
            try deleteGroup.execute(arguments: [try groupRef(group.id)])
            groupRefs[group.id] = nil
        }

        let encoder = JSONEncoder()
        func aliases(_ user: DirectoryUser) throws -> String {
            user.aliases.isEmpty ? "[]" : String(decoding: try encoder.encode(user.aliases), as: UTF8.self)
        }
        let insertUser = try db.makeStatement(sql: """
            INSERT INTO "user" (directory, id, dn, username, mail, aliases, display_name, disabled, digest, resolution_digest, dn_key, primary_group)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let insertAddress = try db.makeStatement(sql: "INSERT OR IGNORE INTO user_address (address, user_ref) VALUES (?, ?)")
        func insertAddresses(_ user: DirectoryUser, ref: Int64) throws {
            if let mail = user.mail { try insertAddress.execute(arguments: [mail.lowercased(), ref]) }
            for alias in user.aliases { try insertAddress.execute(arguments: [alias.lowercased(), ref]) }
        }
        for user in plan.usersAdded {
            try insertUser.execute(arguments: [
                directory, user.id, user.dn, user.username, user.mail, try aliases(user), user.displayName, user.disabled,
                Int64(bitPattern: user.stableDigest), Int64(bitPattern: user.resolutionDigest), DNKey.of(user.dn), user.primaryGroup,
            ])
            userRefs[user.id] = db.lastInsertedRowID
            try insertAddresses(user, ref: db.lastInsertedRowID)
        }
        let updateUser = try db.makeStatement(sql: """
            UPDATE "user" SET dn = ?, username = ?, mail = ?, aliases = ?, display_name = ?, disabled = ?, digest = ?,
                resolution_digest = ?, dn_key = ?, primary_group = ? WHERE ref = ?
            """)
        for change in plan.usersChanged {
            let user = change.after
            let userRef = try ref(.user(user.id))
            try updateUser.execute(arguments: [
                user.dn, user.username, user.mail, try aliases(user), user.displayName, user.disabled,
                Int64(bitPattern: user.stableDigest), Int64(bitPattern: user.resolutionDigest), DNKey.of(user.dn), user.primaryGroup, userRef,
            ])
            try deleteAddresses.execute(arguments: [userRef])
            try insertAddresses(user, ref: userRef)
        }
        let insertGroup = try db.makeStatement(sql: """
            INSERT INTO "group" (directory, id, dn, name, mail, dn_key, group_type, sid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for group in plan.groupsAdded {
            try insertGroup.execute(arguments: [directory, group.id, group.dn, group.name, group.mail, DNKey.of(group.dn), group.type, group.sid])
            groupRefs[group.id] = db.lastInsertedRowID
        }
        let updateGroup = try db.makeStatement(sql: "UPDATE \"group\" SET dn = ?, name = ?, mail = ?, dn_key = ?, group_type = ?, sid = ? WHERE ref = ?")
        for change in plan.groupsChanged {
            try updateGroup.execute(arguments: [
                change.after.dn, change.after.name, change.after.mail, DNKey.of(change.after.dn), change.after.type, change.after.sid,
                try groupRef(change.after.id),
            ])
        }

        // The planner lists additions group by group. Each group's rows are sorted on their
        // own and the groups taken in ref order, so rows go in in key order (appending to the
        // B-tree) without an array of every row (a first sync has a million) being built.
        let added = plan.membershipsAdded
        var runs: [(ref: Int64, range: Range<Int>)] = []
        var start = 0
        while start < added.count {
            var end = start + 1
            while end < added.count && added[end].groupID == added[start].groupID { end += 1 }
            runs.append((try groupRef(added[start].groupID), start..<end))
            start = end
        }
        // Groups new to the store: all their members, from the set the plan shares.
        var newGroups: [(ref: Int64, id: String)] = []
        for group in plan.newGroupMembers.keys { newGroups.append((try groupRef(group), group)) }
        var order: [(ref: Int64, run: Range<Int>?, group: String?)] = runs.map { ($0.ref, $0.range, nil) }
        order += newGroups.map { ($0.ref, nil, $0.id) }
        order.sort { $0.ref < $1.ref }
        var inserter = EdgeInserter(db: db)
        var groupEdges: [Edge] = []
        for item in order {
            groupEdges.removeAll(keepingCapacity: true)
            if let range = item.run {
                for membership in added[range] {
                    groupEdges.append(Edge(group: item.ref, kind: Int64(membership.member.kind.code), member: try ref(membership.member)))
                }
            } else if let group = item.group, let members = plan.newGroupMembers[group] {
                for member in members { groupEdges.append(Edge(group: item.ref, kind: Int64(member.kind.code), member: try ref(member))) }
            }
            groupEdges.sort()
            try inserter.add(groupEdges)
        }
        try inserter.finish()
        let insertUnresolved = try db.makeStatement(sql: "INSERT INTO unresolved_member (group_ref, value) VALUES (?, ?)")
        for value in plan.unresolvedAdded {
            try insertUnresolved.execute(arguments: [try groupRef(value.groupID), value.value])
        }
        try writeMarkers(plan.groupMarkers, groupRefs: groupRefs)
        // Digests last: they must describe the members as written above.
        let updateDigest = try db.makeStatement(sql: "UPDATE \"group\" SET members_sum = ?, members_xor = ?, members_count = ? WHERE ref = ?")
        for (group, digest) in plan.memberDigests {
            guard let ref = groupRefs[group] else { continue }
            try updateDigest.execute(arguments: [Int64(bitPattern: digest.sum), Int64(bitPattern: digest.xor), digest.count, ref])
        }
    }

    /// Remembers each group's change marker (entryCSN) as of this run.
    func writeMarkers(_ markers: [String: String], groupRefs: [String: Int64]? = nil) throws {
        guard !markers.isEmpty else { return }
        let refs = try groupRefs ?? refs("group")
        let update = try db.makeStatement(sql: "UPDATE \"group\" SET change_marker = ? WHERE ref = ?")
        for (group, marker) in markers {
            guard let ref = refs[group] else { continue }
            try update.execute(arguments: [marker, ref])
        }
    }

    /// A membership row by refs.
    struct Edge: Comparable {
        var group: Int64
        var kind: Int64
        var member: Int64

        static func < (lhs: Edge, rhs: Edge) -> Bool { (lhs.group, lhs.kind, lhs.member) < (rhs.group, rhs.kind, rhs.member) }
    }

    private func refs(_ table: String) throws -> [String: Int64] {
        var refs: [String: Int64] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT id, ref FROM \"\(table)\" WHERE directory = ?", arguments: [directory])
        while let row = try rows.next() { refs[row[0]] = row[1] }
        return refs
    }

    /// The refs of these ids only, a few hundred per statement.
    private func refs(_ table: String, ids: Set<String>) throws -> [String: Int64] {
        var refs: [String: Int64] = [:]
        try Store.inChunks(ids) { chunk, placeholders in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT id, ref FROM \"\(table)\" WHERE directory = ? AND id IN (\(placeholders))",
                arguments: StatementArguments([directory] + chunk))
            while let row = try rows.next() { refs[row[0]] = row[1] }
        }
        return refs
    }
}

/// Inserts membership rows many per statement: one statement execution per row costs more
/// than SQLite's own work for a million rows.
struct EdgeInserter {
    let db: Database
    static let batch = 300
    private var pending: [(any DatabaseValueConvertible)?] = []
    private var statements: [Int: Statement] = [:]

    init(db: Database) {
        self.db = db
        pending.reserveCapacity(Self.batch * 3)
    }

    mutating func add(_ edges: [SnapshotWriter.Edge]) throws {
        for edge in edges {
            pending.append(edge.group)
            pending.append(edge.kind)
            pending.append(edge.member)
            if pending.count == Self.batch * 3 { try flush() }
        }
    }

    mutating func finish() throws { try flush() }

    private mutating func flush() throws {
        let count = pending.count / 3
        guard count > 0 else { return }
        let statement: Statement
        if let cached = statements[count] {
            statement = cached
        } else {
            let values = Array(repeating: "(?, ?, ?)", count: count).joined(separator: ", ")
            statement = try db.makeStatement(sql: "INSERT INTO membership (group_ref, member_kind, member_ref) VALUES \(values)")
            statements[count] = statement
        }
        try statement.execute(arguments: StatementArguments(pending))
        pending.removeAll(keepingCapacity: true)
    }
}

/// A plan that does not fit the stored snapshot (it names an object the store lacks):
/// the transaction is rolled back and nothing is written.
struct StoreInconsistency: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = "the plan does not match the stored snapshot: \(description)" }
}

extension MemberRef.Kind {
    /// The `member_kind` column: 0 for users, 1 for groups.
    var code: Int { self == .user ? 0 : 1 }
}
