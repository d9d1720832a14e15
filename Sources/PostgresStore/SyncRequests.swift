import Foundation
import PostgresNIO
import SyncConfig

/// Manual syncs handed from a daemon that does not own a directory to the one that does,
/// through the database (daemons need not reach each other over the network).
public struct SyncRequests: Sendable {
    let session: PostgresSession

    public init(session: PostgresSession) {
        self.session = session
    }

    public struct Request: Sendable, Equatable {
        public var id: Int64
        public var directory: String
        public var dryRun: Bool
        public var force: Bool
        public var full: Bool
    }

    public enum State: Sendable, Equatable {
        case pending
        case claimed(by: String)
        case finished(runID: Int64?, error: String?)
    }

    /// Records a request; returns its id.
    public func submit(directory: String, dryRun: Bool, force: Bool, full: Bool, by requester: String) throws(PostgresStoreError) -> Int64 {
        let rows = try session.query("""
            INSERT INTO sync_request (directory, dry_run, force, full_run, requested_by)
            VALUES (\(directory), \(dryRun), \(force), \(full), \(requester)) RETURNING id
            """)
        return try DirectoryLeases.decode(Int64.self, rows[0])
    }

    /// Claims the pending requests for these directories (each claimed by one daemon only:
    /// `FOR UPDATE SKIP LOCKED`).
    public func claim(directories: [String], by owner: String) throws(PostgresStoreError) -> [Request] {
        guard !directories.isEmpty else { return [] }
        return try session.query("""
            UPDATE sync_request SET claimed_by = \(owner), claimed_at = now()
            WHERE id IN (SELECT id FROM sync_request WHERE claimed_by IS NULL AND directory = ANY(\(directories)) ORDER BY id FOR UPDATE SKIP LOCKED)
            RETURNING id, directory, dry_run, force, full_run
            """).map { row throws(PostgresStoreError) -> Request in
            let (id, directory, dryRun, force, full) = try DirectoryLeases.decode((Int64, String, Bool, Bool, Bool).self, row)
            return Request(id: id, directory: directory, dryRun: dryRun, force: force, full: full)
        }.sorted { $0.id < $1.id }
    }

    /// The owner's answer: the run that served the request, or why none could.
    public func finish(_ id: Int64, runID: Int64?, error: String?) throws(PostgresStoreError) {
        try session.query("UPDATE sync_request SET finished_at = now(), run_id = \(runID), error = \(error) WHERE id = \(id)")
    }

    /// Requests claimed by a daemon that no longer holds the directory's lease go back to
    /// pending (its owner died mid-request), so the next owner serves them.
    public func releaseOrphans() throws(PostgresStoreError) {
        try session.query("""
            UPDATE sync_request r SET claimed_by = NULL, claimed_at = NULL
            WHERE r.finished_at IS NULL AND r.claimed_by IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM directory_lease l WHERE l.directory = r.directory AND l.owner = r.claimed_by AND l.expires_at > now())
            """)
    }

    public func state(_ id: Int64) throws(PostgresStoreError) -> State? {
        guard let row = try session.query("SELECT claimed_by, finished_at IS NOT NULL, run_id, error FROM sync_request WHERE id = \(id)").first else {
            return nil
        }
        let (claimedBy, finished, runID, error) = try DirectoryLeases.decode((String?, Bool, Int64?, String?).self, row)
        if finished { return .finished(runID: runID, error: error) }
        return claimedBy.map { .claimed(by: $0) } ?? .pending
    }
}
