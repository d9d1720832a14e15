import Foundation
import GRDB
import LDAPClient
import SyncCore
import Verification

/// The stored snapshot of every directory, as verification asks it, inside one read
/// transaction (one consistent snapshot per answer). Every lookup goes through an index.
public struct StoreCatalog: Catalog {
    let db: Database

    static let userColumns = "u.ref, u.directory, u.id, u.dn, u.username, u.mail, u.aliases, u.display_name, u.disabled"

    public func users(matching name: String) throws -> [UserInfo] {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return [] }
        if name.contains("="), let key = DistinguishedName.normalizedKey(name) {
            return try users(sql: "SELECT \(Self.userColumns) FROM \"user\" u WHERE u.dn_key = ?", [key])
        }
        return try users(sql: """
            SELECT \(Self.userColumns) FROM "user" u WHERE u.username = ?1 COLLATE NOCASE
            UNION
            SELECT \(Self.userColumns) FROM user_address a JOIN "user" u ON u.ref = a.user_ref WHERE a.address = ?2
            """, [name, name.lowercased()])
    }

    public func users(keys: [UserKey]) throws -> [UserInfo] {
        let statement = try db.cachedStatement(sql: "SELECT \(Self.userColumns) FROM \"user\" u WHERE u.directory = ? AND u.id = ?")
        return try keys.flatMap { key in try users(statement, [key.directory, key.id]) }
    }

    public func groups(matching name: String) throws -> [GroupInfo] {
        let name = name.trimmingCharacters(in: .whitespaces)
        if name.contains("="), let key = DistinguishedName.normalizedKey(name) {
            return try groups(sql: "SELECT ref, directory, id, dn, name, mail, group_type FROM \"group\" WHERE dn_key = ?", [key]).map(\.info)
        }
        return try groups(sql: "SELECT ref, directory, id, dn, name, mail, group_type FROM \"group\" WHERE name = ? COLLATE NOCASE", [name]).map(\.info)
    }

    public func nestedGroups(of groups: [GroupKey]) throws -> [GroupInfo] {
        let refs = try groupRefs(groups)
        guard !refs.isEmpty else { return [] }
        let nested = try Int64.fetchAll(try db.cachedStatement(sql: """
            WITH RECURSIVE down(ref) AS (
                SELECT value FROM json_each(?)
                UNION
                SELECT m.member_ref FROM membership m JOIN down ON m.group_ref = down.ref AND m.member_kind = 1
            )
            SELECT ref FROM down
            """), arguments: [Self.json(refs)])
        let extra = Set(nested).subtracting(refs)
        return try self.groups(refs: Array(extra)).map(\.info).sorted { $0.name < $1.name }
    }

    public func hasUserMembers(_ groups: [GroupKey]) throws -> Bool {
        let refs = try groupRefs(groups)
        return try Bool.fetchOne(try db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM membership WHERE group_ref IN (SELECT value FROM json_each(?)) AND member_kind = 0)
            """), arguments: [Self.json(refs)]) ?? false
    }

    public func effectiveUsers(of groups: [GroupKey]) throws -> [UserInfo] {
        let refs = try groupRefs(groups)
        guard !refs.isEmpty else { return [] }
        return try users(sql: """
            WITH RECURSIVE down(ref) AS (
                SELECT value FROM json_each(?1)
                UNION
                SELECT m.member_ref FROM membership m JOIN down ON m.group_ref = down.ref AND m.member_kind = 1
            )
            SELECT \(Self.userColumns) FROM "user" u WHERE u.ref IN (
                SELECT m.member_ref FROM down CROSS JOIN membership m ON m.group_ref = down.ref AND m.member_kind = 0)
            """, [Self.json(refs)])
    }

    /// `down CROSS JOIN membership` fixes the join order: left to itself, SQLite scans every
    /// user membership and probes the (small) set of groups, 7× slower on 1M memberships.
    /// Repeats (a user in several of the groups) are dropped here, not by `DISTINCT`: SQLite's
    /// temporary B-tree for it took 17 of the 20 ms a 60,000-member group cost. Rows are read
    /// through SQLite's C API (``DirectRows``).
    public func effectiveUserRefs(of groups: [GroupKey]) throws -> Set<Int64> {
        let refs = try groupRefs(groups)
        guard !refs.isEmpty else { return [] }
        let rows = try DirectRows(db, statement: try db.cachedStatement(sql: """
            WITH RECURSIVE down(ref) AS (
                SELECT value FROM json_each(?1)
                UNION
                SELECT m.member_ref FROM membership m JOIN down ON m.group_ref = down.ref AND m.member_kind = 1
            )
            SELECT m.member_ref FROM down CROSS JOIN membership m ON m.group_ref = down.ref AND m.member_kind = 0
            """), arguments: [Self.json(refs)])
        var users = Set<Int64>()
        try rows.forEach { users.insert($0.int64(0)) }
        return users
    }

    public func userRefs(withAddresses addresses: [String], domains: [String]) throws -> [Int64] {
        var result: [Int64] = []
        for address in addresses {
            result += try Int64.fetchAll(
                try db.cachedStatement(sql: "SELECT user_ref FROM user_address WHERE address = ?"), arguments: [address.lowercased()])
        }
        for domain in domains {
            // `domain` is the address's, lower-cased by SQLite (ASCII), and indexed (migration v6).
            result += try Int64.fetchAll(
                try db.cachedStatement(sql: "SELECT DISTINCT user_ref FROM user_address WHERE domain = ?"), arguments: [domain.lowercased()])
        }
        return result
    }

    public func users(refs: [Int64]) throws -> [UserInfo] {
        try users(sql: "SELECT \(Self.userColumns) FROM \"user\" u WHERE u.ref IN (SELECT value FROM json_each(?))", [Self.json(refs)])
    }

    // MARK: One user's groups

    /// The user and every group above them, with the nesting edges among those groups:
    /// walks up the `membership_member` index, so it costs in proportion to the user's
    /// groups, not to the directory.
    public func graph(of user: UserInfo) throws -> UserGraph {
        guard let userRef = try Int64.fetchOne(try db.cachedStatement(sql: "SELECT ref FROM \"user\" WHERE directory = ? AND id = ?"), arguments: [user.directory, user.user.id])
        else { return UserGraph(user: user, groups: [:], direct: [], parents: [:]) }
        let direct = try Int64.fetchAll(try db.cachedStatement(sql: "SELECT group_ref FROM membership WHERE member_kind = 0 AND member_ref = ?"), arguments: [userRef])
        let reachable = try Int64.fetchAll(try db.cachedStatement(sql: """
            WITH RECURSIVE up(ref) AS (
                SELECT value FROM json_each(?)
                UNION
                SELECT m.group_ref FROM membership m JOIN up ON m.member_kind = 1 AND m.member_ref = up.ref
            )
            SELECT ref FROM up
            """), arguments: [Self.json(direct)])
        let rows = try groups(refs: reachable)
        var byRef: [Int64: GroupKey] = [:]
        var groups: [GroupKey: GroupInfo] = [:]
        for row in rows {
            byRef[row.ref] = row.info.key
            groups[row.info.key] = row.info
        }
        var parents: [GroupKey: [GroupKey]] = [:]
        let edges = try Row.fetchCursor(try db.cachedStatement(sql: """
            SELECT member_ref, group_ref FROM membership
            WHERE member_kind = 1 AND member_ref IN (SELECT value FROM json_each(?))
            """), arguments: [Self.json(reachable)])
        while let edge = try edges.next() {
            guard let child = byRef[edge[0]], let parent = byRef[edge[1]] else { continue }
            parents[child, default: []].append(parent)
        }
        return UserGraph(user: user, groups: groups, direct: direct.compactMap { byRef[$0] }, parents: parents)
    }

    /// Usernames and addresses close to a name that matched no user: the same start, or
    /// one or two edits away. Reads every username and address: for the unknown-user case only.
    public func closeMatches(to name: String, limit: Int) throws -> [String] {
        var candidates = Set<String>()
        let rows = try String.fetchCursor(try db.cachedStatement(sql: """
            SELECT username FROM "user" WHERE username IS NOT NULL UNION SELECT address FROM user_address
            """))
        while let candidate = try rows.next() { candidates.insert(candidate) }
        return CloseMatches.rank(name, candidates: candidates, limit: limit)
    }

    // MARK: Plumbing

    struct GroupRow {
        var ref: Int64
        var info: GroupInfo
    }

    func groups(sql: String, _ arguments: StatementArguments) throws -> [GroupRow] {
        try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: arguments).map { row in
            GroupRow(ref: row[0], info: GroupInfo(directory: row[1], group: DirectoryGroup(id: row[2], dn: row[3], name: row[4], mail: row[5], type: row[6])))
        }
    }

    func groups(refs: [Int64]) throws -> [GroupRow] {
        guard !refs.isEmpty else { return [] }
        return try groups(sql: """
            SELECT ref, directory, id, dn, name, mail, group_type FROM "group" WHERE ref IN (SELECT value FROM json_each(?))
            """, [Self.json(refs)])
    }

    func groupRefs(_ keys: [GroupKey]) throws -> [Int64] {
        let statement = try db.cachedStatement(sql: "SELECT ref FROM \"group\" WHERE directory = ? AND id = ?")
        return try keys.compactMap { try Int64.fetchOne(statement, arguments: [$0.directory, $0.id]) }
    }

    func users(sql: String, _ arguments: StatementArguments) throws -> [UserInfo] {
        try users(try db.cachedStatement(sql: sql), arguments)
    }

    func users(_ statement: Statement, _ arguments: StatementArguments) throws -> [UserInfo] {
        var result: [UserInfo] = []
        let decoder = JSONDecoder()
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try rows.next() { result.append(Self.userInfo(row, decoder: decoder)) }
        return result
    }

    /// A user from a row of ``userColumns``.
    static func userInfo(_ row: Row, decoder: JSONDecoder) -> UserInfo {
        let aliases = (try? Store.aliases(row[6], decoder: decoder)) ?? []
        return UserInfo(
            directory: row[1],
            user: DirectoryUser(id: row[2], dn: row[3], username: row[4], mail: row[5], aliases: aliases, displayName: row[7], disabled: row[8]),
            ref: row[0])
    }

    static func json(_ refs: [Int64]) -> String { "[" + refs.map(String.init).joined(separator: ",") + "]" }
}

extension Store {
    /// Runs `body` against the stored snapshot of every directory, in one read transaction.
    public func withCatalog<T>(_ body: (StoreCatalog) throws -> T) throws(StoreError) -> T {
        try read("read the snapshot") { db in try body(StoreCatalog(db: db)) }
    }
}

/// Names close to a name that matched nothing, best first (both stores rank alike).
public enum CloseMatches {
    public static func rank(_ name: String, candidates: Set<String>, limit: Int) -> [String] {
        let wanted = name.lowercased()
        let local = wanted.split(separator: "@").first.map(String.init) ?? wanted
        var scored: [(Int, String)] = []
        for candidate in candidates {
            let lower = candidate.lowercased()
            let target = lower.contains("@") ? wanted : local
            if let distance = EditDistance.within(target, lower, limit: 2) {
                scored.append((distance, candidate))
            } else if target.count >= 3, lower.hasPrefix(target) || (lower.contains(target) && target.count >= 4) {
                scored.append((3, candidate))
            }
        }
        return scored.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.prefix(limit).map(\.1)
    }
}

/// Levenshtein distance with an early exit.
enum EditDistance {
    static func within(_ a: String, _ b: String, limit: Int) -> Int? {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard abs(a.count - b.count) <= limit else { return nil }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) <= limit ? max(a.count, b.count) : nil }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMin = current[0]
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                rowMin = min(rowMin, current[j])
            }
            if rowMin > limit { return nil }
            swap(&previous, &current)
        }
        return previous[b.count] <= limit ? previous[b.count] : nil
    }
}
