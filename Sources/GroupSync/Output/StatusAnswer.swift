import Foundation
import PostgresStore
import SyncConfig
import SyncStore

/// `groupsync status` and `GET /v1/status`: per directory the last run, its outcome and
/// age, the last successful sync, whether a run is in progress, and the next scheduled run
/// (what Mimecast's get-connection reports, and more).
public struct StatusAnswer: Codable, Sendable {
    public struct Progress: Codable, Sendable {
        public var phase: String
        public var entries: Int

        public init(phase: String, entries: Int) {
            self.phase = phase
            self.entries = entries
        }
    }

    /// Where incremental runs stand: the change feed in use and the full run it started from.
    public struct Incremental: Codable, Sendable {
        /// `dirsync` or `usn`; `off` when the configuration turns incremental runs off, `none`
        /// when no full run has taken a position yet (or the server offers no change feed).
        public var method: String
        public var lastFullRunAt: String?
        /// The next run is full from this moment on (`full_every` after the last full run).
        public var fullDueAt: String?

        enum CodingKeys: String, CodingKey {
            case method
            case lastFullRunAt = "last_full_run_at"
            case fullDueAt = "full_due_at"
        }
    }

    public struct Directory: Codable, Sendable {
        public var name: String
        public var lastRunID: Int64?
        public var lastOutcome: String?
        public var lastFinishedAt: String?
        public var lastMessage: String?
        public var lastSuccessRunID: Int64?
        public var lastSuccessAt: String?
        public var lastSuccessAgeSeconds: Int?
        public var running: Bool
        public var runningRunID: Int64?
        public var progress: Progress?
        public var nextRun: String?
        public var consecutiveFailures: Int
        public var incremental: Incremental?
        /// PostgreSQL store: the daemon holding the directory's lease (the one that syncs
        /// it); nil when no daemon holds it, and absent with SQLite.
        public var owner: String?

        enum CodingKeys: String, CodingKey {
            case name, running, progress, incremental, owner
            case lastRunID = "last_run_id"
            case lastOutcome = "last_outcome"
            case lastFinishedAt = "last_finished_at"
            case lastMessage = "last_message"
            case lastSuccessRunID = "last_success_run_id"
            case lastSuccessAt = "last_success_at"
            case lastSuccessAgeSeconds = "last_success_age_seconds"
            case runningRunID = "running_run_id"
            case nextRun = "next_run"
            case consecutiveFailures = "consecutive_failures"
        }
    }

    /// Whether the answer comes from a running daemon (which knows the next run and the progress).
    public var daemon: Bool
    public var directories: [Directory]

    /// The status as the store alone tells it: a run in progress is one recorded as
    /// `running`; the next run is left out (only the daemon knows it).
    public static func fromStore(_ store: any SnapshotStore, config: GroupSyncConfig, now: Date = Date()) throws(StoreError) -> StatusAnswer {
        var directories: [Directory] = []
        for directory in config.directories {
            let runs = try store.runs(directory: directory.name, limit: 20)
            let running = runs.first { $0.outcome == .running }
            let last = runs.first { $0.outcome != .running }
            let success = try store.lastSuccessfulRun(directory: directory.name)
            directories.append(Directory(
                name: directory.name, lastRunID: last?.id, lastOutcome: last?.outcome.rawValue,
                lastFinishedAt: last.map { rfc3339($0.finishedAt) }, lastMessage: last?.message,
                lastSuccessRunID: success?.id, lastSuccessAt: success.map { rfc3339($0.finishedAt) },
                lastSuccessAgeSeconds: success.map { Int(now.timeIntervalSince($0.finishedAt)) },
                running: running != nil, runningRunID: running?.id, progress: nil, nextRun: nil,
                consecutiveFailures: runs.prefix { $0.outcome == .failed || $0.outcome == .running }.filter { $0.outcome == .failed }.count,
                incremental: try incremental(of: directory, store: store),
                owner: try (store as? PostgresStore)?.leaseOwner(directory: directory.name)))
        }
        return StatusAnswer(daemon: false, directories: directories)
    }

    static func incremental(of directory: DirectoryConfig, store: any SnapshotStore) throws(StoreError) -> Incremental {
        guard directory.incremental.method != .off else { return Incremental(method: "off") }
        guard let state = try store.syncState(directory: directory.name) else { return Incremental(method: "none") }
        let due = state.fullRunAt.addingTimeInterval(Double(directory.incremental.fullEvery.components.seconds))
        return Incremental(method: state.method, lastFullRunAt: rfc3339(state.fullRunAt), fullDueAt: rfc3339(due))
    }

    public var text: String {
        let shared = directories.contains { $0.owner != nil }
        var header = ["directory", "last run", "outcome", "finished (UTC)", "last success", "running", "next run", "incremental"]
        if shared { header.append("synced by") }
        var table = TextTable(header: header)
        for directory in directories {
            let age = directory.lastSuccessAgeSeconds.map { " (\(Self.age($0)) ago)" } ?? ""
            var row: [String] = [
                directory.name, directory.lastRunID.map(String.init) ?? "–", directory.lastOutcome ?? "never run",
                directory.lastFinishedAt ?? "–", (directory.lastSuccessAt ?? "never") + age,
                directory.running ? "yes" + (directory.progress.map { " (\($0.phase), \($0.entries) entries)" } ?? "") : "no",
                directory.nextRun ?? (daemon ? "not scheduled" : "(daemon not running)"),
                directory.incremental.map { $0.method == "none" ? "full runs only (no feed position yet)" : $0.method } ?? "–",
            ]
            if shared { row.append(directory.owner ?? "no daemon") }
            table.add(row)
        }
        var lines = [table.render()]
        for directory in directories where directory.lastOutcome == "failed" || directory.lastOutcome == "stopped-by-limit" {
            lines.append("\(directory.name): \(directory.lastMessage ?? "")")
        }
        return lines.joined(separator: "\n")
    }

    static func age(_ seconds: Int) -> String {
        seconds < 120 ? "\(seconds)s" : seconds < 7200 ? "\(seconds / 60)m" : seconds < 172_800 ? "\(seconds / 3600)h" : "\(seconds / 86400)d"
    }
}
