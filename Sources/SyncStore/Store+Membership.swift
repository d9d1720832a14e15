import GRDB
import SyncCore

extension Store {
    /// Every group a user belongs to, directly or through nested groups, from the stored
    /// snapshot: a recursive query that walks up the `membership_member` index, so it
    /// costs in proportion to the user's groups, not to the directory. Cycle-safe (UNION).
    public func effectiveGroups(directory: String, userID: String) throws(StoreError) -> Set<String> {
        try read("read the groups of \(userID)") { db in
            Set(try String.fetchAll(db, sql: """
                WITH RECURSIVE up(group_id) AS (
                    SELECT group_id FROM membership
                    WHERE directory = ?1 AND member_kind = 'user' AND member_id = ?2
                    UNION
                    SELECT m.group_id FROM membership m JOIN up
                    ON m.directory = ?1 AND m.member_kind = 'group' AND m.member_id = up.group_id
                )
                SELECT group_id FROM up
                """, arguments: [directory, userID]))
        }
    }
}
