import Foundation
import SyncCore
import SyncStore

/// The human report of `groupsync sync` and `groupsync runs`.
public enum SyncReportText {
    /// One directory's run: outcome, a table of counts, the first changes, where to see the rest.
    public static func run(_ run: RunRecord, changes: [PlannedChange], limit: Int = 20) -> String {
        let totalChanges = max(run.changesTotal, changes.count)
        var lines: [String] = []
        let took = DurationText.of(seconds: run.finishedAt.timeIntervalSince(run.startedAt))
        lines.append("\(run.directory): \(headline(run)) (run \(run.id.map(String.init) ?? "–"), \(took))")
        if let message = run.message { lines.append("  \(message)") }
        if run.outcome != .failed {
            var table = TextTable(header: ["", "added", "removed", "changed"], rightAligned: [1, 2, 3])
            table.add(["users", "\(run.counts.users.added)", "\(run.counts.users.removed)", "\(run.counts.users.changed)"])
            table.add(["groups", "\(run.counts.groups.added)", "\(run.counts.groups.removed)", "\(run.counts.groups.changed)"])
            table.add(["memberships", "\(run.counts.memberships.added)", "\(run.counts.memberships.removed)", "–"])
            lines.append(table.render(indent: "  "))
            let totals = run.totals
            var summary = "  \(run.outcome == .applied || run.outcome == .noChanges ? "now" : "in the directory"): "
                + "\(totals.users) users, \(totals.groups) groups, \(totals.memberships) memberships"
            if totals.unresolvedMembers > 0 {
                summary += ", \(totals.unresolvedMembers) unresolved member value\(totals.unresolvedMembers == 1 ? "" : "s") (see `groupsync runs show`)"
            }
            lines.append(summary)
        }
        if !changes.isEmpty {
            lines.append("  changes\(run.outcome == .applied ? "" : " planned"):")
            let shown = min(limit, changes.count)
            for change in changes.prefix(shown) { lines.append("    \(change.summary)") }
            if totalChanges > shown, let id = run.id {
                if shown < changes.count {
                    lines.append("    … and \(totalChanges - shown) more: groupsync runs show \(id)")
                } else {
                    lines.append("    … and \(totalChanges - shown) more, not recorded one by one (the counts above include them)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func headline(_ run: RunRecord) -> String {
        switch run.outcome {
        case .applied: "applied"
        case .noChanges: "no changes"
        case .dryRun: "dry run, nothing applied"
        case .stoppedByLimit: "STOPPED, nothing applied"
        case .failed: "FAILED, store unchanged"
        case .running: "running"
        }
    }

    /// The run history as a table, newest first.
    public static func history(_ runs: [RunRecord]) -> String {
        guard !runs.isEmpty else { return "no runs yet" }
        var table = TextTable(
            header: ["run", "directory", "trigger", "mode", "outcome", "started (UTC)", "took", "users ±", "groups ±", "members ±"], rightAligned: [0, 6])
        for run in runs {
            let c = run.counts
            table.add([
                run.id.map(String.init) ?? "–", run.directory, run.trigger.rawValue, run.mode.rawValue, run.outcome.rawValue,
                rfc3339(run.startedAt).replacingOccurrences(of: "T", with: " ").prefix(19).description,
                DurationText.of(seconds: run.finishedAt.timeIntervalSince(run.startedAt), compact: true),
                "+\(c.users.added) -\(c.users.removed) ~\(c.users.changed)", "+\(c.groups.added) -\(c.groups.removed) ~\(c.groups.changed)",
                "+\(c.memberships.added) -\(c.memberships.removed)",
            ])
        }
        return table.render()
    }
}
