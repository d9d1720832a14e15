import Foundation

/// Human output of `verify`, `explain` and `report`.
public enum VerifyText {
    public static func verify(_ answer: VerifyAnswer) -> String {
        var lines: [String] = []
        if let user = answer.user {
            lines.append("user: \(user.username ?? user.mail ?? user.dn)  \(user.dn)\(user.disabled ? "  (disabled)" : "")")
        } else {
            lines.append("user: \(answer.query) — not found")
        }
        lines.append(snapshotLine(answer.snapshot))
        for result in answer.results {
            let target = "\(result.target.kind.replacingOccurrences(of: "_", with: " ")) \(result.target.name)"
            if result.landed {
                lines.append("✔ landed     \(target)")
                for path in result.displayPaths { lines.append("    " + path) }
            } else {
                lines.append("✘ not landed \(target)  [\(result.reasonCode ?? "")]")
                if let reason = result.reason { lines.append("    " + reason) }
            }
            if let live = result.live { lines.append("    live: " + live.message) }
        }
        return lines.joined(separator: "\n")
    }

    static func snapshotLine(_ snapshot: SnapshotInfo?) -> String {
        guard let snapshot, let runID = snapshot.runID else { return "snapshot: none (never synced)" }
        var line = "snapshot: run \(runID) of \(snapshot.directory), \(snapshot.finishedAt ?? "")"
        if let age = snapshot.ageSeconds { line += " (\(SnapshotInfo.describe(TimeInterval(age))) ago)" }
        if snapshot.stale { line += " — STALE" }
        if snapshot.configChanged { line += " — the configuration has changed since" }
        return line
    }

    public static func explain(_ answer: ExplainAnswer) -> String {
        var lines: [String] = []
        let user = answer.user
        lines.append("user: \(user.username ?? user.mail ?? user.dn)  \(user.dn)\(user.disabled ? "  (disabled)" : "")")
        if let mail = user.mail { lines.append("mail: \(mail)") }
        lines.append(snapshotLine(answer.snapshot))
        lines.append("")
        lines.append("groups (\(answer.groups.count)):")
        var table = TextTable(header: ["", "group", "path"])
        for group in answer.groups { table.add([group.direct ? "direct" : "nested", group.name, group.path.joined(separator: " → ")]) }
        lines.append(answer.groups.isEmpty ? "  none" : table.render(indent: "  "))
        lines.append("profile groups (\(answer.profileGroups.count)):")
        for group in answer.profileGroups { lines.append("  \(group.name): " + group.path.joined(separator: " → ")) }
        if answer.profileGroups.isEmpty { lines.append("  none") }
        lines.append("policies (\(answer.policies.count)):")
        var policies = TextTable(header: ["policy", "type", "applies to", "via"])
        for policy in answer.policies {
            policies.add([policy.name, policy.type, policy.appliesTo, policy.everyone ? "everyone" : policy.via.joined(separator: ", ")])
        }
        lines.append(answer.policies.isEmpty ? "  none" : policies.render(indent: "  "))
        lines.append("relay profiles (\(answer.relayProfiles.count)):")
        for relay in answer.relayProfiles {
            lines.append("  \(relay.name): may relay to \((relay.domains + relay.addresses).joined(separator: ", ")) — " + relay.path.joined(separator: " → "))
        }
        if answer.relayProfiles.isEmpty { lines.append("  none") }
        if !answer.conflicts.isEmpty {
            lines.append("conflicts (\(answer.conflicts.count)):")
            for conflict in answer.conflicts { lines.append("  ⚠ \(conflict.kind): \(conflict.message)") }
        }
        return lines.joined(separator: "\n")
    }

    public static func report(_ answer: ReportAnswer) -> String {
        var lines: [String] = []
        if let runID = answer.runID {
            lines.append("landing report of run \(runID) (\(answer.evaluatedAt ?? ""))"
                + (answer.previousRunID.map { ", compared with run \($0)" } ?? ""))
        } else {
            lines.append("no landing report yet: it is evaluated at the end of each groupsync sync")
        }
        for intent in answer.intents {
            lines.append("")
            lines.append("intent \(intent.name): \(intent.landed.count) landed, \(intent.notLanded.count) not landed, "
                + "\(intent.newlyLanded.count) newly landed, \(intent.lost.count) lost")
            for row in intent.notLanded { lines.append("  ✘ \(row.user) → \(row.target.kind) \(row.target.name): \(row.reason ?? "")") }
            for row in intent.newlyLanded { lines.append("  + \(row.user) → \(row.target.kind) \(row.target.name) (newly landed)") }
            for row in intent.lost { lines.append("  − \(row.user) → \(row.target.kind) \(row.target.name) (lost: \(row.reason ?? ""))") }
        }
        lines.append("")
        lines.append("lint: \(answer.lintErrors) error(s), \(answer.lint.count - answer.lintErrors) warning(s)")
        for finding in answer.lint { lines.append("  \(finding.severity == "error" ? "error  " : "warning") \(finding.code): \(finding.message)") }
        return lines.joined(separator: "\n")
    }

    public static func batch(_ rows: [(line: Int, answer: VerifyAnswer)]) -> String {
        var table = TextTable(header: ["line", "user", "target", "landed", "path or reason"])
        for (line, answer) in rows {
            for result in answer.results {
                table.add([
                    String(line), answer.query, "\(result.target.kind) \(result.target.name)", result.landed ? "yes" : "NO",
                    result.landed ? (result.displayPaths.first ?? "") : "[\(result.reasonCode ?? "")] \(result.reason ?? "")",
                ])
            }
        }
        let failed = rows.filter { !$0.answer.allLanded }.count
        return table.render() + "\n\(rows.count - failed) of \(rows.count) rows landed"
    }
}
