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
        var refs = StoredRefs()
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
            try readRefs(.user, ids: users, into: &refs)
            try readRefs(.group, ids: groups, into: &refs)
        } else {
            try readRefs(.user, into: &refs)
            try readRefs(.group, into: &refs)
        }
        // A first sync: the secondary indexes are built after the rows are in.
        var bulk = BulkLoad(db: db)
        try bulk.setAsideIndexes(of: "user", adding: plan.usersAdded.count)
        try bulk.setAsideIndexes(of: "user_address", adding: plan.usersAdded.count)
        try bulk.setAsideIndexes(of: "membership", adding: plan.membershipsAddedCount)

        // Removals first: edges, then the objects they point at.
        let deleteMembership = try db.makeStatement(sql: "DELETE FROM membership WHERE group_ref = ? AND member_kind = ? AND member_ref = ?")
        for membership in plan.membershipsRemoved {
            try deleteMembership.execute(arguments: [try refs.group(membership.groupID), membership.member.kind.code, try refs[membership.member]])
        }
        let deleteUnresolved = try db.makeStatement(sql: "DELETE FROM unresolved_member WHERE group_ref = ? AND value = ?")
        for value in plan.unresolvedRemoved {
            try deleteUnresolved.execute(arguments: [try refs.group(value.groupID), value.value])
        }
        let deleteUser = try db.makeStatement(sql: "DELETE FROM \"user\" WHERE ref = ?")
        let deleteAddresses = try db.makeStatement(sql: "DELETE FROM user_address WHERE user_ref = ?")
        for user in plan.usersRemoved {
            let userRef = try refs.user(user.id)
            try deleteAddresses.execute(arguments: [userRef])
            try deleteUser.execute(arguments: [userRef])
            refs.remove(.user, user.id)
        }
        let deleteGroup = try db.makeStatement(sql: "DELETE FROM \"group\" WHERE ref = ?")
        for group in plan.groupsRemoved {
            try deleteGroup.execute(arguments: [try refs.group(group.id)])
            refs.remove(.group, group.id)
        }

        try writeUsers(plan, refs: &refs, deleteAddresses: deleteAddresses)
        let insertGroup = try db.makeStatement(sql: """
            INSERT INTO "group" (directory, id, dn, name, mail, dn_key, group_type, sid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for group in plan.groupsAdded {
            try insertGroup.execute(arguments: [directory, group.id, group.dn, group.name, group.mail, DNKey.of(group.dn), group.type, group.sid])
            refs.add(.group, group.id, ref: db.lastInsertedRowID)
        }
        let updateGroup = try db.makeStatement(sql: "UPDATE \"group\" SET dn = ?, name = ?, mail = ?, dn_key = ?, group_type = ?, sid = ? WHERE ref = ?")
        for change in plan.groupsChanged {
            try updateGroup.execute(arguments: [
                change.after.dn, change.after.name, change.after.mail, DNKey.of(change.after.dn), change.after.type, change.after.sid,
                try refs.group(change.after.id),
            ])
        }
        try writeMembershipsAdded(plan, refs: refs)
        try bulk.rebuild()
        let insertUnresolved = try db.makeStatement(sql: "INSERT INTO unresolved_member (group_ref, value) VALUES (?, ?)")
        for value in plan.unresolvedAdded {
            try insertUnresolved.execute(arguments: [try refs.group(value.groupID), value.value])
        }
        try writeMarkers(plan.groupMarkers, refs: refs)
        try writeUserMarkers(plan.movedUserMarkers)
        // Digests last: they must describe the members as written above.
        let updateDigest = try db.makeStatement(sql: "UPDATE \"group\" SET members_sum = ?, members_xor = ?, members_count = ? WHERE ref = ?")
        for (group, digest) in plan.memberDigests {
            guard let ref = refs.lookup(.group, group) else { continue }
            try updateDigest.execute(arguments: [Int64(bitPattern: digest.sum), Int64(bitPattern: digest.xor), digest.count, ref])
        }
    }

    /// Users added and changed, with their addresses.
    private func writeUsers(_ plan: Plan, refs: inout StoredRefs, deleteAddresses: Statement) throws {
        var insertAddress = try DirectInsert(db, sql: "INSERT OR IGNORE INTO user_address (address, user_ref) VALUES (?, ?)")
        func writeAddress(lowercased address: String, ref: Int64) throws {
            insertAddress.bind(address)
            insertAddress.bind(ref)
            try insertAddress.step()
        }
        func insertAddresses(_ user: DirectoryUser, ref: Int64) throws {
            if let mail = user.mail { try writeAddress(lowercased: mail.lowercased(), ref: ref) }
            for alias in user.aliases { try writeAddress(lowercased: alias.lowercased(), ref: ref) }
        }
        let encoder = JSONEncoder()
        func aliases(_ user: DirectoryUser) throws -> String {
            user.aliases.isEmpty ? "[]" : String(decoding: try encoder.encode(user.aliases), as: UTF8.self)
        }
        func bind(_ user: DirectoryUser, to statement: inout DirectInsert) throws {
            statement.bind(user.dn)
            statement.bind(user.username)
            statement.bind(user.mail)
            statement.bind(try aliases(user))
            statement.bind(user.displayName)
            statement.bind(user.disabled)
            statement.bind(Int64(bitPattern: user.stableDigest))
            statement.bind(Int64(bitPattern: user.resolutionDigest))
            statement.bind(DNKey.of(user.dn))
            statement.bind(user.primaryGroup)
            if let marker = plan.userMarkers[user.id] { statement.bind(Int64(bitPattern: marker)) } else { statement.bind(nil as String?) }
        }
        var insertUser = try DirectInsert(db, sql: """
            INSERT INTO "user" (
                directory, id, dn, username, mail, aliases, display_name, disabled, digest, resolution_digest, dn_key, primary_group, change_marker_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        // A large load goes in key order: users by id, then their addresses sorted, so the
        // UNIQUE (directory, id) index and user_address's key grow at their ends instead of
        // at random pages (Active Directory's objectGUIDs are random). Measured on 100,000
        // users with the sqlite3 shell: 0.43–0.46 s in random order, 0.17–0.24 s sorted.
        let bulk = plan.usersAdded.count >= BulkLoad.threshold
        let added = plan.usersAdded
        var order = added.indices.map { (key: bulk ? KeyPrefix.of(added[$0].id) : 0, index: $0) }
        if bulk { order.sort { $0.key != $1.key ? $0.key < $1.key : added[$0.index].id < added[$1.index].id } }
        var addresses: [(key: UInt64, address: String, ref: Int64)] = []
        for (_, index) in order {
            let user = added[index]
            insertUser.bind(directory)
            insertUser.bind(user.id)
            try bind(user, to: &insertUser)
            try insertUser.step()
            let ref = db.lastInsertedRowID
            refs.add(.user, user.id, ref: ref)
            if bulk {
                func keep(_ address: String) {
                    let lowered = address.lowercased()
                    addresses.append((KeyPrefix.of(lowered), lowered, ref))
                }
                if let mail = user.mail { keep(mail) }
                for alias in user.aliases { keep(alias) }
            } else {
                try insertAddresses(user, ref: ref)
            }
        }
        addresses.sort { $0.key != $1.key ? $0.key < $1.key : ($0.address, $0.ref) < ($1.address, $1.ref) }
        for (_, address, ref) in addresses { try writeAddress(lowercased: address, ref: ref) }
        var updateUser = try DirectInsert(db, sql: """
            UPDATE "user" SET dn = ?, username = ?, mail = ?, aliases = ?, display_name = ?, disabled = ?, digest = ?,
                resolution_digest = ?, dn_key = ?, primary_group = ?, change_marker_hash = ? WHERE ref = ?
            """)
        for change in plan.usersChanged {
            let userRef = try refs.user(change.after.id)
            try bind(change.after, to: &updateUser)
            updateUser.bind(userRef)
            try updateUser.step()
            try deleteAddresses.execute(arguments: [userRef])
            try insertAddresses(change.after, ref: userRef)
        }
    }

    /// Memberships added, in key order. The planner lists additions group by group; each
    /// group's rows are sorted on their own and the groups taken in ref order, so rows go in
    /// in key order (appending to the B-tree), in chunks of about 50,000 rows rather than an
    /// array of every row (a first sync has a million), each made while the last is written
    /// (``MembershipRows``).
    private func writeMembershipsAdded(_ plan: Plan, refs: StoredRefs) throws {
        var inserter = try EdgeInserter(db: db)
        try MembershipRows(plan: plan, refs: refs).forEachChunk(rowsPerChunk: 50_000) { try inserter.add($0) }
        try inserter.finish()
    }

    /// Remembers each group's change marker (entryCSN) as of this run.
    func writeMarkers(_ markers: [String: String], refs: StoredRefs? = nil) throws {
        guard !markers.isEmpty else { return }
        var known = refs ?? StoredRefs()
        if refs == nil { try readRefs(.group, into: &known) }
        let update = try db.makeStatement(sql: "UPDATE \"group\" SET change_marker = ? WHERE ref = ?")
        for (group, marker) in markers {
            guard let ref = known.lookup(.group, group) else { continue }
            try update.execute(arguments: [marker, ref])
        }
    }

    /// Remembers users' change markers (users whose rows are not otherwise written).
    func writeUserMarkers(_ markers: [String: UInt64]) throws {
        guard !markers.isEmpty else { return }
        var update = try DirectInsert(db, sql: "UPDATE \"user\" SET change_marker_hash = ? WHERE directory = ? AND id = ?")
        for (user, marker) in markers {
            update.bind(Int64(bitPattern: marker))
            update.bind(directory)
            update.bind(user)
            try update.step()
        }
    }

    /// A membership row by refs.
    struct Edge: Comparable {
        var group: Int64
        var kind: Int64
        var member: Int64

        static func < (lhs: Edge, rhs: Edge) -> Bool { (lhs.group, lhs.kind, lhs.member) < (rhs.group, rhs.kind, rhs.member) }
    }

    private func readRefs(_ kind: MemberRef.Kind, into refs: inout StoredRefs) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT id, ref FROM \"\(kind.rawValue)\" WHERE directory = ?", arguments: [directory])
        while let row = try rows.next() { refs.add(kind, row[0], ref: row[1]) }
    }

    /// The refs of these ids only, a few hundred per statement.
    private func readRefs(_ kind: MemberRef.Kind, ids: Set<String>, into refs: inout StoredRefs) throws {
        try Store.inChunks(ids) { chunk, placeholders in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT id, ref FROM \"\(kind.rawValue)\" WHERE directory = ? AND id IN (\(placeholders))",
                arguments: StatementArguments([directory] + chunk))
            while let row = try rows.next() { refs.add(kind, row[0], ref: row[1]) }
        }
    }
}

/// The stored `ref` of each user and group a plan names, by kind and id. Two dictionaries
/// of String keys: a first sync holds 110,000 of them while its memory peaks, and entries
/// keyed by ``MemberRef`` (with its stored hash) kept that peak 4 MiB higher.
struct StoredRefs {
    private var users: [String: Int64] = [:]
    private var groups: [String: Int64] = [:]

    mutating func add(_ kind: MemberRef.Kind, _ id: String, ref: Int64) {
        if kind == .user { users[id] = ref } else { groups[id] = ref }
    }

    mutating func remove(_ kind: MemberRef.Kind, _ id: String) {
        if kind == .user { users[id] = nil } else { groups[id] = nil }
    }

    func lookup(_ kind: MemberRef.Kind, _ id: String) -> Int64? { kind == .user ? users[id] : groups[id] }

    /// The ref of a stored object the plan names; a plan naming one the store lacks is inconsistent.
    func require(_ kind: MemberRef.Kind, _ id: String) throws -> Int64 {
        guard let found = lookup(kind, id) else { throw StoreInconsistency("no stored \(kind.rawValue) with id \(id)") }
        return found
    }

    subscript(member: MemberRef) -> Int64 { get throws { try require(member.kind, member.id) } }
    func user(_ id: String) throws -> Int64 { try require(.user, id) }
    func group(_ id: String) throws -> Int64 { try require(.group, id) }
}

/// Inserts membership rows many per statement: one statement execution per row costs more
/// than SQLite's own work for a million rows.
struct EdgeInserter {
    let db: Database
    static let batch = 300
    private var pending: [SnapshotWriter.Edge] = []
    private var full: DirectInsert

    init(db: Database) throws {
        self.db = db
        pending.reserveCapacity(Self.batch)
        full = try DirectInsert(db, sql: Self.sql(rows: Self.batch))
    }

    mutating func add(_ edges: [SnapshotWriter.Edge]) throws {
        for edge in edges {
            pending.append(edge)
            if pending.count == Self.batch { try flush() }
        }
    }

    mutating func finish() throws { try flush() }

    private mutating func flush() throws {
        guard !pending.isEmpty else { return }
        if pending.count == Self.batch {
            try Self.insert(pending, with: &full)
        } else {
            var rest = try DirectInsert(db, sql: Self.sql(rows: pending.count))
            try Self.insert(pending, with: &rest)
        }
        pending.removeAll(keepingCapacity: true)
    }

    private static func insert(_ edges: [SnapshotWriter.Edge], with statement: inout DirectInsert) throws {
        for edge in edges {
            statement.bind(edge.group)
            statement.bind(edge.kind)
            statement.bind(edge.member)
        }
        try statement.step()
    }

    private static func sql(rows: Int) -> String {
        "INSERT INTO membership (group_ref, member_kind, member_ref) VALUES " + Array(repeating: "(?, ?, ?)", count: rows).joined(separator: ", ")
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
