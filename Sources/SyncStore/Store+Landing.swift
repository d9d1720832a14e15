import Foundation
import GRDB
import SyncCore
import Verification

extension Store {
    /// Keeps a configuration file's text (once per distinct text) and returns its digest,
    /// for ``RunRecord/configDigest``.
    public func saveConfig(file: String, text: String) throws(StoreError) -> String {
        let digest = StableHash.hex(text)
        try write("save the configuration") { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO config_version (digest, file, text, first_used_at) VALUES (?, ?, ?, ?)
                """, arguments: [digest, file, text, Date()])
        }
        return digest
    }

    /// The text of a configuration a run used.
    public func config(digest: String) throws(StoreError) -> (file: String, text: String)? {
        try read("read a configuration") { db in
            try Row.fetchOne(db, sql: "SELECT file, text FROM config_version WHERE digest = ?", arguments: [digest])
                .map { ($0[0], $0[1]) }
        }
    }

    /// Stores the landing report a run evaluated.
    public func saveLandings(_ rows: [PolicyAudit.Landing], runID: Int64) throws(StoreError) {
        try write("save the landing report of run \(runID)") { db in
            let insert = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO landing (run_id, intent, user_key, user_label, target_kind, target_name, landed, reason, path)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for row in rows {
                try insert.execute(arguments: [
                    runID, row.intent, row.userKey, row.userLabel, row.target.kind, row.target.name, row.landed,
                    row.reason.map { "\($0.code.rawValue)\t\($0.message)" }, nil,
                ])
            }
        }
    }

    /// The landing reports of the last two runs that evaluated one, newest first.
    public func latestLandings() throws(StoreError) -> [(run: RunRecord, rows: [PolicyAudit.Landing])] {
        try read("read the landing report") { db in
            let runIDs = try Int64.fetchAll(db, sql: "SELECT DISTINCT run_id FROM landing ORDER BY run_id DESC LIMIT 2")
            return try runIDs.compactMap { id -> (RunRecord, [PolicyAudit.Landing])? in
                guard let run = try RunRecord.fetchOne(db, key: id) else { return nil }
                let rows = try Row.fetchAll(db, sql: """
                    SELECT intent, user_key, user_label, target_kind, target_name, landed, reason FROM landing WHERE run_id = ?
                    ORDER BY intent, user_label, target_kind, target_name
                    """, arguments: [id]).map { row -> PolicyAudit.Landing in
                    let kind: String = row[3]
                    let name: String = row[4]
                    let target: Target = kind == "policy" ? .policy(name) : kind == "group" ? .group(name) : .profileGroup(name)
                    var reason: Reason?
                    if let text: String = row[6] {
                        let parts = text.split(separator: "\t", maxSplits: 1).map(String.init)
                        reason = Reason(Reason.Code(rawValue: parts[0]) ?? .notAMember, parts.count > 1 ? parts[1] : "")
                    }
                    return PolicyAudit.Landing(
                        intent: row[0], userKey: row[1], userLabel: row[2], target: target, landed: row[5], reason: reason)
                }
                return (run, rows)
            }
        }
    }
}
