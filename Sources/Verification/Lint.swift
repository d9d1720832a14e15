/// A problem in the policies as configured against the snapshot.
public struct LintFinding: Sendable, Equatable {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    public var code: String
    /// The policy, profile group or relay profile it is about.
    public var subject: String
    public var message: String
}

extension PolicyAudit {
    /// Targets that are gone or empty, profile groups and relay profiles naming unknown
    /// directory groups or users, everyone-policies, and policies of opposite effect over
    /// overlapping users.
    public mutating func lint() throws -> [LintFinding] {
        var findings: [LintFinding] = []
        func check(_ specs: [MemberSpec], subject: String, role: String) {
            for spec in specs {
                switch spec {
                case .group(let name):
                    let group = resolved.resolvedGroup(name)
                    if group.isGone {
                        findings.append(LintFinding(
                            severity: .error, code: "target-gone", subject: subject,
                            message: "\(subject) \(role) group \(name), which is not in the snapshot (deleted or renamed in the directory, or outside groups.base)"))
                    } else if !group.hasUsers {
                        findings.append(LintFinding(
                            severity: .warning, code: "target-empty", subject: subject,
                            message: "\(subject) \(role) group \(name), which has no users, directly or nested"))
                    }
                case .user(let name) where resolved.users(name).isEmpty:
                    findings.append(LintFinding(
                        severity: .warning, code: "unknown-user", subject: subject, message: "\(subject) \(role) user \(name), who is not in the snapshot"))
                default:
                    break
                }
            }
        }
        for group in resolved.policySet.profileGroups {
            check(group.members, subject: "profile group \(group.name)", role: "lists")
        }
        for relay in resolved.policySet.relayProfiles {
            check(relay.senders, subject: "relay profile \(relay.name)", role: "lets")
        }
        let policies = resolved.policySet.policies
        for policy in policies {
            if policy.everyone {
                findings.append(LintFinding(
                    severity: .warning, code: "everyone-policy", subject: "policy \(policy.name)",
                    message: "policy \(policy.name) (\(policy.type.rawValue)) applies to everyone"))
                continue
            }
            check(policy.targets, subject: "policy \(policy.name)", role: "targets")
            if resolved.reach(policy.targets).resolvesToNothing {
                findings.append(LintFinding(
                    severity: .error, code: "no-targets", subject: "policy \(policy.name)",
                    message: "policy \(policy.name) has no targets that resolve: it applies to nobody"))
            }
        }
        for (index, first) in policies.enumerated() {
            for second in policies[(index + 1)...] {
                guard first.type.opposite == second.type, first.appliesTo.overlaps(second.appliesTo) else { continue }
                let firstUsers = try coveredUsers(.policy(first.name))
                let secondUsers = try coveredUsers(.policy(second.name))
                let overlap: Set<Int64>
                switch (firstUsers, secondUsers) {
                case (nil, nil): overlap = []
                case (nil, let some?), (let some?, nil): overlap = some
                case (let a?, let b?): overlap = a.intersection(b)
                }
                guard !overlap.isEmpty else { continue }
                let examples = try catalog.users(refs: Array(overlap.sorted().prefix(3))).map(\.user.label)
                let conflict = Coverage.conflict(first, second)
                let everyone = conflict.kind == .everyoneOverridden
                findings.append(LintFinding(
                    severity: everyone ? .warning : .error, code: conflict.kind.rawValue,
                    subject: "policies \(first.name) and \(second.name)",
                    message: "\(overlap.count) user\(overlap.count == 1 ? " is" : "s are") under both \(first.name) (\(first.type.rawValue)) "
                        + "and \(second.name) (\(second.type.rawValue)), e.g. \(examples.joined(separator: ", "))"))
            }
        }
        return findings
    }
}
