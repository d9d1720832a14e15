import Foundation
import SyncConfig
import SyncStore

/// The snapshot an answer comes from: the last run of a directory that applied (or found
/// nothing to apply), its age, and whether it is older than the schedule implies.
public struct SnapshotInfo: Sendable, Codable {
    public var directory: String
    public var runID: Int64?
    public var finishedAt: String?
    public var ageSeconds: Int?
    public var stale: Bool
    /// Why the snapshot counts as stale, as a sentence.
    public var staleReason: String?
    /// The digest of the configuration that run used, and whether the configuration has changed since.
    public var configDigest: String?
    public var configChanged: Bool

    enum CodingKeys: String, CodingKey {
        case directory, stale
        case runID = "run_id"
        case finishedAt = "finished_at"
        case ageSeconds = "age_seconds"
        case staleReason = "stale_reason"
        case configDigest = "config_digest"
        case configChanged = "config_changed"
    }

    init(directory: DirectoryConfig, run: RunRecord?, currentConfigDigest: String, now: Date = Date()) {
        self.directory = directory.name
        runID = run?.id
        finishedAt = run.map { rfc3339($0.finishedAt) }
        configDigest = run?.configDigest
        configChanged = run?.configDigest.map { $0 != currentConfigDigest } ?? false
        ageSeconds = nil
        stale = true
        staleReason = nil
        aged(directory: directory, finished: run?.finishedAt, now: now)
    }

    /// The age and staleness as of `now` (the rest does not change while a snapshot stands).
    mutating func aged(directory: DirectoryConfig, finished: Date?, now: Date) {
        guard let finished else {
            ageSeconds = nil
            stale = true
            staleReason = "directory \(directory.name) has never been synced"
            return
        }
        let age = now.timeIntervalSince(finished)
        ageSeconds = Int(age)
        if let limit = Self.staleAfter(directory.schedule), age > limit {
            stale = true
            staleReason = "the snapshot of \(directory.name) is \(Self.describe(age)) old, older than its schedule implies "
                + "(\(Self.describe(limit)) at most): scheduled syncs are not running or failing; run groupsync sync"
        } else {
            stale = false
            staleReason = nil
        }
    }

    /// How old a snapshot may get before it is stale: two intervals plus the jitter for
    /// `every`, the longest gap between fixed times plus an hour for `at`; nil without a schedule.
    static func staleAfter(_ schedule: ScheduleConfig?) -> TimeInterval? {
        guard let schedule else { return nil }
        if let every = schedule.every {
            return 2 * every.seconds + (schedule.jitter?.seconds ?? 0)
        }
        let minutes = schedule.at.compactMap { time -> Int? in
            let parts = time.split(separator: ":").compactMap { Int($0) }
            return parts.count == 2 ? parts[0] * 60 + parts[1] : nil
        }.sorted()
        guard let first = minutes.first, let last = minutes.last else { return nil }
        var gap = first + 24 * 60 - last
        for (a, b) in zip(minutes, minutes.dropFirst()) { gap = max(gap, b - a) }
        return TimeInterval(gap * 60 + 3600)
    }

    static func describe(_ seconds: TimeInterval) -> String {
        let total = Int(seconds)
        if total < 120 { return "\(total)s" }
        if total < 7200 { return "\(total / 60)m" }
        if total < 172_800 { return "\(total / 3600)h\(total % 3600 / 60 > 0 ? "\(total % 3600 / 60)m" : "")" }
        return "\(total / 86400)d"
    }
}

extension Duration {
    var seconds: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
