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
