import Foundation
import PostgresNIO
import SyncConfig
import SyncCore
import SyncStore

/// Writes a plan into the snapshot tables inside the caller's transaction, as the SQLite
/// store's SnapshotWriter does: removals first (edges, then the objects they point at),
/// then users, groups, memberships, unresolved values, change markers and, last, the member
/// digests. Rows go in many per statement (``PostgresSession/Transaction/values(_:_:tail:)``).
struct PostgresSnapshotWriter {
    let transaction: PostgresSession.Transaction
    let directory: String

    func write(_ plan: Plan) throws {
        let (userIDs, groupIDs) = Self.named(by: plan)
        // A few objects (an incremental run's): their refs by id. Many (a first sync, a large
        // full run): every ref at once, cheaper than a list of tens of thousands of ids.
        let all = userIDs.count + groupIDs.count > Self.targetedRefsLimit
        var users = try refs("user", ids: all ? nil : userIDs)
        var groups = try refs("group", ids: all ? nil : groupIDs)
        func ref(_ member: MemberRef) throws -> Int64 {
            guard let found = member.kind == .user ? users[member.id] : groups[member.id] else {
                throw PostgresStoreError("the plan does not match the stored snapshot: no stored \(member.kind.rawValue) with id \(member.id)")
            }
            return found
        }
        func group(_ id: String) throws -> Int64 { try ref(MemberRef(.group, id)) }
        func user(_ id: String) throws -> Int64 { try ref(MemberRef(.user, id)) }

        if !plan.membershipsRemoved.isEmpty {
            try transaction.values("DELETE FROM membership m USING (VALUES", try plan.membershipsRemoved.map {
                [.integer(try group($0.groupID)), .small(Int16($0.member.kind == .user ? 0 : 1)), .integer(try ref($0.member))]
            }, tail: ") AS d(g, k, r) WHERE m.group_ref = d.g AND m.member_kind = d.k AND m.member_ref = d.r")
        }
        if !plan.unresolvedRemoved.isEmpty {
            try transaction.values("DELETE FROM unresolved_member x USING (VALUES", try plan.unresolvedRemoved.map {
                [.integer(try group($0.groupID)), .text($0.value)]
            }, tail: ") AS d(g, v) WHERE x.group_ref = d.g AND x.value = d.v")
        }
        if !plan.usersRemoved.isEmpty {
            let removed = try plan.usersRemoved.map { try user($0.id) }
            try transaction.query("DELETE FROM user_address WHERE user_ref = ANY(\(removed))")
            try transaction.query(#"DELETE FROM "user" WHERE ref = ANY(\#(removed))"#)
            for removedUser in plan.usersRemoved { users[removedUser.id] = nil }
        }
        if !plan.groupsRemoved.isEmpty {
            let removed = try plan.groupsRemoved.map { try group($0.id) }
            try transaction.query(#"DELETE FROM "group" WHERE ref = ANY(\#(removed))"#)
            for removedGroup in plan.groupsRemoved { groups[removedGroup.id] = nil }
        }

        // Users added and changed, with their addresses.
        if !plan.usersAdded.isEmpty {
            let rows = try transaction.values("""
                INSERT INTO "user" (
                    directory, id, dn, username, mail, aliases, display_name, disabled, digest, resolution_digest, dn_key, primary_group, change_marker_hash)
                VALUES
                """, try plan.usersAdded.map { [.text(directory), .text($0.id)] + (try Self.columns($0)) + [plan.userMarkers[$0.id].map { .integer(Int64(bitPattern: $0)) } ?? .null] },
                tail: "RETURNING id, ref")
            for row in rows {
                let (id, ref) = try row.decode((String, Int64).self)
                users[id] = ref
            }
            try insertAddresses(plan.usersAdded, refs: users)
        }
        if !plan.usersChanged.isEmpty {
            var changedRefs: [Int64] = []
            for change in plan.usersChanged {
                let userRef = try user(change.after.id)
                changedRefs.append(userRef)
                let after = change.after
                try transaction.query("""
                    UPDATE "user" SET dn = \(after.dn), username = \(after.username), mail = \(after.mail), aliases = \(try Self.aliases(after)),
                        display_name = \(after.displayName), disabled = \(after.disabled), digest = \(Int64(bitPattern: after.stableDigest)),
                        resolution_digest = \(Int64(bitPattern: after.resolutionDigest)), dn_key = \(DNKey.of(after.dn)),
                        primary_group = \(after.primaryGroup), change_marker_hash = \(plan.userMarkers[after.id].map { Int64(bitPattern: $0) })
                    WHERE ref = \(userRef)
                    """)
            }
            try transaction.query("DELETE FROM user_address WHERE user_ref = ANY(\(changedRefs))")
            try insertAddresses(plan.usersChanged.map(\.after), refs: users)
        }

        if !plan.groupsAdded.isEmpty {
            let rows = try transaction.values(#"INSERT INTO "group" (directory, id, dn, name, mail, dn_key, group_type, sid) VALUES"#,
                plan.groupsAdded.map {
                    [.text(directory), .text($0.id), .text($0.dn), .text($0.name), SQLValue($0.mail), .text(DNKey.of($0.dn)), SQLValue($0.type), SQLValue($0.sid)]
                }, tail: "RETURNING id, ref")
            for row in rows {
                let (id, ref) = try row.decode((String, Int64).self)
                groups[id] = ref
            }
        }
        for change in plan.groupsChanged {
            let after = change.after
            try transaction.query("""
                UPDATE "group" SET dn = \(after.dn), name = \(after.name), mail = \(after.mail), dn_key = \(DNKey.of(after.dn)),
                    group_type = \(after.type), sid = \(after.sid)
                WHERE ref = \(try group(after.id))
                """)
        }

        // Memberships added: to groups the store had, and every member of new groups. Sent
        // one full statement at a time (21,845 rows), so a first sync's million rows never
        // sit in memory as parameter rows all at once.
        let insertEdges = "INSERT INTO membership (group_ref, member_kind, member_ref) VALUES"
        var edges: [[SQLValue]] = []
        edges.reserveCapacity(Self.edgesPerStatement)
        func add(_ groupRef: Int64, _ member: MemberRef) throws {
            edges.append([.integer(groupRef), .small(member.kind == .user ? 0 : 1), .integer(try ref(member))])
            if edges.count == Self.edgesPerStatement {
                try transaction.values(insertEdges, edges)
                edges.removeAll(keepingCapacity: true)
            }
        }
        for membership in plan.membershipsAdded { try add(try group(membership.groupID), membership.member) }
        for (groupID, members) in plan.newGroupMembers {
            let groupRef = try group(groupID)
            for member in members { try add(groupRef, member) }
        }
        if !edges.isEmpty { try transaction.values(insertEdges, edges) }
        if !plan.unresolvedAdded.isEmpty {
            try transaction.values("INSERT INTO unresolved_member (group_ref, value) VALUES", try plan.unresolvedAdded.map {
                [.integer(try group($0.groupID)), .text($0.value)]
            })
        }
        let markers = plan.groupMarkers.compactMap { id, marker in groups[id].map { [SQLValue.integer($0), .text(marker)] } }
        if !markers.isEmpty {
            try transaction.values(#"UPDATE "group" g SET change_marker = v.m FROM (VALUES"#, markers, tail: ") AS v(r, m) WHERE g.ref = v.r")
        }
        try Self.writeUserMarkers(plan.movedUserMarkers, directory: directory, transaction)
        // Digests last: they describe the members as written above.
        let digests = plan.memberDigests.compactMap { id, digest in
            groups[id].map { [SQLValue.integer($0), .integer(Int64(bitPattern: digest.sum)), .integer(Int64(bitPattern: digest.xor)), .integer(Int64(digest.count))] }
        }
        if !digests.isEmpty {
            try transaction.values(#"UPDATE "group" g SET members_sum = v.s, members_xor = v.x, members_count = v.c FROM (VALUES"#, digests,
                                   tail: ") AS v(r, s, x, c) WHERE g.ref = v.r")
        }
    }

    /// Membership rows per INSERT: as many as PostgreSQL's 65,535 parameters allow (3 each).
    static let edgesPerStatement = 65_535 / 3

    /// Up to this many stored objects named by a plan are looked up by id; past it, every
    /// ref is read (reading all 100,000 users' refs took 0.3–0.4 s of a 1,000-change run).
    static let targetedRefsLimit = 20_000

    /// The stored users and groups a plan names by id (whose refs its writes need); users
    /// and groups it adds get theirs from their INSERT.
    static func named(by plan: Plan) -> (users: Set<String>, groups: Set<String>) {
        var users = Set<String>(), groups = Set<String>()
        func note(_ member: MemberRef) {
            if member.kind == .user { users.insert(member.id) } else { groups.insert(member.id) }
        }
        for membership in plan.membershipsAdded + plan.membershipsRemoved {
            groups.insert(membership.groupID)
            note(membership.member)
        }
        for (group, members) in plan.newGroupMembers {
            groups.insert(group)
            members.forEach(note)
        }
        for value in plan.unresolvedAdded + plan.unresolvedRemoved { groups.insert(value.groupID) }
        users.formUnion(plan.usersRemoved.map(\.id))
        users.formUnion(plan.usersChanged.map(\.after.id))
        groups.formUnion(plan.groupsRemoved.map(\.id))
        groups.formUnion(plan.groupsChanged.map(\.after.id))
        groups.formUnion(plan.groupMarkers.keys)
        groups.formUnion(plan.memberDigests.keys)
        return (users, groups)
    }

    /// The stored refs of the directory's users or groups by id: those with `ids`, or all.
    private func refs(_ table: String, ids: Set<String>? = nil) throws -> [String: Int64] {
        var refs: [String: Int64] = [:]
        if ids?.isEmpty == true { return refs }
        var binds = PostgresBindings()
        binds.append(directory)
        if let ids { binds.append(Array(ids)) }
        let filter = ids == nil ? "" : " AND id = ANY($2)"
        for row in try transaction.query(PostgresQuery(unsafeSQL: "SELECT id, ref FROM \"\(table)\" WHERE directory = $1" + filter, binds: binds)) {
            let (id, ref) = try row.decode((String, Int64).self)
            refs[id] = ref
        }
        return refs
    }

    private func insertAddresses(_ users: [DirectoryUser], refs: [String: Int64]) throws {
        var rows: [[SQLValue]] = []
        for user in users {
            guard let ref = refs[user.id] else { continue }
            for address in Set(([user.mail].compactMap { $0 } + user.aliases).map { $0.lowercased() }) {
                rows.append([.text(address), .integer(ref)])
            }
        }
        if !rows.isEmpty { try transaction.values("INSERT INTO user_address (address, user_ref) VALUES", rows, tail: "ON CONFLICT DO NOTHING") }
    }

    /// A user's columns after directory and id, in the INSERT's order.
    static func columns(_ user: DirectoryUser) throws -> [SQLValue] {
        [
            .text(user.dn), SQLValue(user.username), SQLValue(user.mail), .text(try aliases(user)), SQLValue(user.displayName),
            .boolean(user.disabled), .integer(Int64(bitPattern: user.stableDigest)), .integer(Int64(bitPattern: user.resolutionDigest)),
            .text(DNKey.of(user.dn)), SQLValue(user.primaryGroup),
        ]
    }

    /// Users' change markers, in one statement (a run can move thousands).
    static func writeUserMarkers(_ markers: [String: UInt64], directory: String, _ transaction: PostgresSession.Transaction) throws {
        guard !markers.isEmpty else { return }
        try transaction.values(
            #"UPDATE "user" u SET change_marker_hash = v.m FROM (VALUES"#,
            markers.sorted { $0.key < $1.key }.map { [SQLValue.text(directory), .text($0.key), .integer(Int64(bitPattern: $0.value))] },
            tail: ") AS v(d, id, m) WHERE u.directory = v.d AND u.id = v.id")
    }

    static func aliases(_ user: DirectoryUser) throws -> String {
        user.aliases.isEmpty ? "[]" : String(decoding: try JSONEncoder().encode(user.aliases), as: UTF8.self)
    }
}
