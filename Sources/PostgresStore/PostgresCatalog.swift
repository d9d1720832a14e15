import Foundation
import LDAPClient
import PostgresNIO
import SyncCore
import SyncStore
import Verification

/// The stored snapshot of every directory as verification asks it, inside one transaction,
/// as ``StoreCatalog`` answers it from SQLite. Sets of refs go in as one array parameter;
/// the recursive walks are the same.
public struct PostgresCatalog: Catalog {
    let transaction: PostgresSession.Transaction

    static let userColumns = "u.ref, u.directory, u.id, u.dn, u.username, u.mail, u.aliases, u.display_name, u.disabled"

    public func users(matching name: String) throws -> [UserInfo] {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return [] }
        if name.contains("="), let key = DistinguishedName.normalizedKey(name) {
            return try users(#"SELECT \#(unescaped: Self.userColumns) FROM "user" u WHERE u.dn_key = \#(key) ORDER BY u.ref"#)
        }
        // lower() narrows through the index; translate() keeps SQLite's NOCASE (ASCII only).
        return try users("""
            SELECT \(unescaped: Self.userColumns) FROM "user" u WHERE lower(u.username) = lower(\(name))
              AND translate(u.username, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                = translate(\(name), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
            UNION
            SELECT \(unescaped: Self.userColumns) FROM user_address a JOIN "user" u ON u.ref = a.user_ref WHERE a.address = \(name.lowercased())
            ORDER BY 1
            """)
    }

    public func users(keys: [UserKey]) throws -> [UserInfo] {
        try keys.flatMap { key in
            try users(#"SELECT \#(unescaped: Self.userColumns) FROM "user" u WHERE u.directory = \#(key.directory) AND u.id = \#(key.id)"#)
        }
    }

    public func groups(matching name: String) throws -> [GroupInfo] {
        let name = name.trimmingCharacters(in: .whitespaces)
        if name.contains("="), let key = DistinguishedName.normalizedKey(name) {
            return try groups(#"SELECT ref, directory, id, dn, name, mail, group_type FROM "group" WHERE dn_key = \#(key) ORDER BY ref"#).map(\.info)
        }
        return try groups("""
            SELECT ref, directory, id, dn, name, mail, group_type FROM "group" WHERE lower(name) = lower(\(name))
              AND translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                = translate(\(name), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
            ORDER BY ref
            """).map(\.info)
    }

    public func nestedGroups(of groups: [GroupKey]) throws -> [GroupInfo] {
        let refs = try groupRefs(groups)
        guard !refs.isEmpty else { return [] }
        let nested = try transaction.query("""
            WITH RECURSIVE down(ref) AS (
                SELECT unnest(\(refs)::bigint[])
                UNION
                SELECT m.member_ref FROM membership m JOIN down ON m.group_ref = down.ref AND m.member_kind = 1
            )
            SELECT ref FROM down
            """).map { try $0.decode(Int64.self) }
        let extra = Set(nested).subtracting(refs)
        return try self.groups(refs: Array(extra)).map(\.info).sorted { $0.name < $1.name }
    }

    public func hasUserMembers(_ groups: [GroupKey]) throws -> Bool {
        let refs = try groupRefs(groups)
        return try transaction.query("""
            SELECT EXISTS (SELECT 1 FROM membership WHERE group_ref = ANY(\(refs)) AND member_kind = 0)
            """).first?.decode(Bool.self) ?? false
    }

    public func effectiveUsers(of groups: [GroupKey]) throws -> [UserInfo] {
        let refs = try groupRefs(groups)
        guard !refs.isEmpty else { return [] }
        return try users("""
            WITH RECURSIVE down(ref) AS (
                SELECT unnest(\(refs)::bigint[])
                UNION
                SELECT m.member_ref FROM membership m JOIN down ON m.group_ref = down.ref AND m.member_kind = 1
            )
            SELECT \(unescaped: Self.userColumns) FROM "user" u WHERE u.ref IN (
                SELECT m.member_ref FROM down JOIN membership m ON m.group_ref = down.ref AND m.member_kind = 0)
            ORDER BY u.ref
            """)
    }

    public func effectiveUserRefs(of groups: [GroupKey]) throws -> Set<Int64> {
        let refs = try groupRefs(groups)
        guard !refs.isEmpty else { return [] }
        return Set(try transaction.query("""
            WITH RECURSIVE down(ref) AS (
                SELECT unnest(\(refs)::bigint[])
                UNION
                SELECT m.member_ref FROM membership m JOIN down ON m.group_ref = down.ref AND m.member_kind = 1
            )
            SELECT m.member_ref FROM down JOIN membership m ON m.group_ref = down.ref AND m.member_kind = 0
            """).map { try $0.decode(Int64.self) })
    }

    /// An address's domain (what follows its last @; addresses are stored lower-cased): the
    /// expression the `user_address_domain` index (schema v4) is built on, so the index
    /// answers a domain's lookup instead of a scan of every address.
    public static let addressDomain = "substring(address from '@([^@]*)$')"

    public func userRefs(withAddresses addresses: [String], domains: [String]) throws -> [Int64] {
        var result: [Int64] = []
        for address in addresses {
            result += try transaction.query("SELECT user_ref FROM user_address WHERE address = \(address.lowercased())").map { try $0.decode(Int64.self) }
        }
        for domain in domains {
            result += try transaction.query(
                "SELECT DISTINCT user_ref FROM user_address WHERE \(unescaped: Self.addressDomain) = \(domain.lowercased())"
            ).map { try $0.decode(Int64.self) }
        }
        return result
    }

    public func users(refs: [Int64]) throws -> [UserInfo] {
        try users(#"SELECT \#(unescaped: Self.userColumns) FROM "user" u WHERE u.ref = ANY(\#(refs)) ORDER BY u.ref"#)
    }

    /// The user and every group above them, with the nesting edges among those groups.
    public func graph(of user: UserInfo) throws -> UserGraph {
        guard let userRef = try transaction.query(#"SELECT ref FROM "user" WHERE directory = \#(user.directory) AND id = \#(user.user.id)"#)
            .first?.decode(Int64.self)
        else { return UserGraph(user: user, groups: [:], direct: [], parents: [:]) }
        let direct = try transaction.query("SELECT group_ref FROM membership WHERE member_kind = 0 AND member_ref = \(userRef)")
            .map { try $0.decode(Int64.self) }
        let reachable = try transaction.query("""
            WITH RECURSIVE up(ref) AS (
                SELECT unnest(\(direct)::bigint[])
                UNION
                SELECT m.group_ref FROM membership m JOIN up ON m.member_kind = 1 AND m.member_ref = up.ref
            )
            SELECT ref FROM up
            """).map { try $0.decode(Int64.self) }
        var byRef: [Int64: GroupKey] = [:]
        var groups: [GroupKey: GroupInfo] = [:]
        for row in try self.groups(refs: reachable) {
            byRef[row.ref] = row.info.key
            groups[row.info.key] = row.info
        }
        var parents: [GroupKey: [GroupKey]] = [:]
        for edge in try transaction.query("""
            SELECT member_ref, group_ref FROM membership WHERE member_kind = 1 AND member_ref = ANY(\(reachable)) ORDER BY member_ref, group_ref
            """) {
            let (childRef, parentRef) = try edge.decode((Int64, Int64).self)
            guard let child = byRef[childRef], let parent = byRef[parentRef] else { continue }
            parents[child, default: []].append(parent)
        }
        return UserGraph(user: user, groups: groups, direct: direct.compactMap { byRef[$0] }, parents: parents)
    }

    /// Usernames and addresses close to a name that matched no user (reads them all: for
    /// the unknown-user case only).
    public func closeMatches(to name: String, limit: Int) throws -> [String] {
        let candidates = Set(try transaction.query(#"SELECT username FROM "user" WHERE username IS NOT NULL UNION SELECT address FROM user_address"#)
            .map { try $0.decode(String.self) })
        return CloseMatches.rank(name, candidates: candidates, limit: limit)
    }

    // MARK: Plumbing

    struct GroupRow {
        var ref: Int64
        var info: GroupInfo
    }

    func groups(_ query: PostgresQuery) throws -> [GroupRow] {
        try transaction.query(query).map { row in
            let (ref, directory, id, dn, name, mail, type) = try row.decode((Int64, String, String, String, String, String?, String?).self)
            return GroupRow(ref: ref, info: GroupInfo(directory: directory, group: DirectoryGroup(id: id, dn: dn, name: name, mail: mail, type: type)))
        }
    }

    func groups(refs: [Int64]) throws -> [GroupRow] {
        guard !refs.isEmpty else { return [] }
        return try groups(#"SELECT ref, directory, id, dn, name, mail, group_type FROM "group" WHERE ref = ANY(\#(refs)) ORDER BY ref"#)
    }

    func groupRefs(_ keys: [GroupKey]) throws -> [Int64] {
        try keys.compactMap { key in
            try transaction.query(#"SELECT ref FROM "group" WHERE directory = \#(key.directory) AND id = \#(key.id)"#).first?.decode(Int64.self)
        }
    }

    func users(_ query: PostgresQuery) throws -> [UserInfo] {
        let decoder = JSONDecoder()
        return try transaction.query(query).map { row in
            let (ref, directory, id, dn, username, mail, aliases, displayName, disabled) = try row.decode(
                (Int64, String, String, String, String?, String?, String, String?, Bool).self)
            return UserInfo(
                directory: directory,
                user: DirectoryUser(
                    id: id, dn: dn, username: username, mail: mail,
                    aliases: aliases == "[]" ? [] : (try? decoder.decode([String].self, from: Data(aliases.utf8))) ?? [],
                    displayName: displayName, disabled: disabled),
                ref: ref)
        }
    }
}

extension PostgresStore {
    /// Runs `body` against the stored snapshot of every directory, in one read-only
    /// snapshot transaction (one consistent snapshot per answer).
    public func withCatalog<T>(_ body: (PostgresCatalog) throws -> T) throws(StoreError) -> T {
        do {
            return try session.transaction(.snapshotReadOnly) { transaction in try body(PostgresCatalog(transaction: transaction)) }
        } catch {
            throw StoreError(path: label, operation: "read the snapshot", underlying: error)
        }
    }
}
