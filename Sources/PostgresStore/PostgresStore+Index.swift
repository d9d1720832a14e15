import Foundation
import PostgresNIO
import SyncCore
import SyncStore
import Verification

extension PostgresStore {
    /// Every directory's snapshot in memory, for the daemon's answers (``SnapshotIndex``),
    /// read in one read-only snapshot transaction.
    public func loadIndex() throws(StoreError) -> SnapshotIndex {
        do {
            return try session.transaction(.snapshotReadOnly) { transaction -> SnapshotIndex in
                var builder = SnapshotIndex.Builder()
                let decoder = JSONDecoder()
                for row in try transaction.query("""
                    SELECT ref, directory, id, dn, username, mail, aliases, display_name, disabled, dn_key FROM "user" ORDER BY ref
                    """) {
                    let (ref, directory, id, dn, username, mail, aliases, displayName, disabled, dnKey) = try row.decode(
                        (Int64, String, String, String, String?, String?, String, String?, Bool, String?).self)
                    let user = DirectoryUser(
                        id: id, dn: dn, username: username, mail: mail,
                        aliases: aliases == "[]" ? [] : (try? decoder.decode([String].self, from: Data(aliases.utf8))) ?? [],
                        displayName: displayName, disabled: disabled)
                    builder.addUser(UserInfo(directory: directory, user: user, ref: ref), dnKey: dnKey)
                }
                for row in try transaction.query("SELECT address, user_ref FROM user_address") {
                    let (address, ref) = try row.decode((String, Int64).self)
                    builder.addAddress(address, userRef: ref)
                }
                for row in try transaction.query(#"SELECT ref, directory, id, dn, name, mail, dn_key, group_type FROM "group" ORDER BY ref"#) {
                    let (ref, directory, id, dn, name, mail, dnKey, type) = try row.decode(
                        (Int64, String, String, String, String, String?, String?, String?).self)
                    builder.addGroup(
                        GroupInfo(directory: directory, group: DirectoryGroup(id: id, dn: dn, name: name, mail: mail, type: type)), ref: ref, dnKey: dnKey)
                }
                builder.startEdges()
                for row in try transaction.query("SELECT group_ref, member_kind, member_ref FROM membership ORDER BY group_ref, member_kind, member_ref") {
                    let (group, kind, member) = try row.decode((Int64, Int16, Int64).self)
                    builder.addEdge(group: group, memberIsUser: kind == 0, member: member)
                }
                return SnapshotIndex(builder)
            }
        } catch {
            throw StoreError(path: label, operation: "build the verification index", underlying: error)
        }
    }
}
