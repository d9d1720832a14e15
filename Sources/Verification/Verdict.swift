/// Did a user land where intended? One answer per target, with the paths when yes and the
/// reason (and what to do) when not.
public struct TargetResult: Sendable {
    public var target: Target
    public var landed: Bool
    public var paths: [MembershipPath]
    public var reason: Reason?

    public init(target: Target, landed: Bool, paths: [MembershipPath] = [], reason: Reason? = nil) {
        self.target = target
        self.landed = landed
        self.paths = paths
        self.reason = reason
    }
}

/// Why a user did not land, as a code scripts can match and a sentence that says what to do.
public struct Reason: Sendable, Equatable {
    public enum Code: String, Sendable, CaseIterable {
        case userUnknown = "user-unknown"
        case userDisabled = "user-disabled"
        case notAMember = "not-a-member"
        case targetGone = "target-gone"
        case targetEmpty = "target-empty"
        case noTargets = "no-targets"
        case snapshotStale = "snapshot-stale"
        case notSynced = "not-synced"
    }

    public var code: Code
    public var message: String
    /// The directory groups through which one would land (the target's groups), for
    /// `not-a-member`; close matches of the name, for `user-unknown`.
    public var suggestions: [String]

    public init(_ code: Code, _ message: String, suggestions: [String] = []) {
        self.code = code
        self.message = message
        self.suggestions = suggestions
    }
}

/// Answers verification questions for one user from a ``Coverage``-style match.
public struct Verifier {
    public let resolved: ResolvedPolicies
    /// How many of a target's groups a `not-a-member` reason lists.
    public static let listedGroups = 20

    public init(_ resolved: ResolvedPolicies) {
        self.resolved = resolved
    }

    /// The answer for a user found in the snapshot. `stale` describes a snapshot older than
    /// the schedule implies; it becomes the reason of every target not landed.
    public func verify(_ graph: UserGraph, targets: [Target], catalog: some Catalog, stale: String? = nil) throws -> [TargetResult] {
        var matcher = Matcher(graph: graph, resolved: resolved, allPaths: false)
        let label = graph.user.user.label
        return try targets.map { target in
            var paths: [MembershipPath]
            // A group target is resolved once: it explains a miss without a second lookup.
            var groupTarget: ResolvedGroup?
            switch target {
            case .group(let name):
                let group = try resolved.group(name, catalog: catalog)
                paths = matcher.groupMatch(group)
                groupTarget = group
            case .profileGroup(let name): paths = matcher.profileGroupPaths(name)
            case .policy(let name):
                guard let policy = resolved.policySet.policy(named: name) else {
                    return TargetResult(target: target, landed: false, reason: Reason(.noTargets, "no policy named \"\(name)\" in the configuration"))
                }
                paths = matcher.policyPaths(policy)
            }
            paths = Array(paths.prefix(Coverage.pathLimit))
            if graph.user.user.disabled {
                let membership = paths.isEmpty ? "" : " (the membership exists: \(paths[0].map(\.name).joined(separator: " → ")))"
                return TargetResult(
                    target: target, landed: false, paths: paths,
                    reason: Reason(.userDisabled, "\(label) is disabled in the directory\(membership); enable the account, then run groupsync sync"))
            }
            if !paths.isEmpty { return TargetResult(target: target, landed: true, paths: paths) }
            let reach = try resolved.missReach(target) {
                try groupTarget.map { ResolvedPolicies.Reach($0, as: target.name) } ?? resolved.reach(target, catalog: catalog)
            }
            var reason = Self.reason(label: label, target: target, reach: reach)
            if let stale {
                reason = Reason(.snapshotStale, "\(stale); as of that snapshot: \(reason.message)", suggestions: reason.suggestions)
            }
            return TargetResult(target: target, landed: false, reason: reason)
        }
    }

    /// The answer for a name that matches no user.
    public static func unknownUser(_ name: String, targets: [Target], closeMatches: [String], stale: String? = nil) -> [TargetResult] {
        var message = "no user \"\(name)\" in the snapshot (looked up by username, mail, alias and DN)"
        message += closeMatches.isEmpty ? "" : "; close matches: \(closeMatches.joined(separator: ", "))"
        message += ". If the account is new, run groupsync sync; otherwise check users.base and users.filter."
        var reason = Reason(.userUnknown, message, suggestions: closeMatches)
        if let stale { reason = Reason(.snapshotStale, "\(stale); as of that snapshot: \(message)", suggestions: closeMatches) }
        return targets.map { TargetResult(target: $0, landed: false, reason: reason) }
    }

    static func reason(label: String, target: Target, reach: ResolvedPolicies.Reach) -> Reason {
        // Described only where a message needs it: the usual miss has its text settled.
        var what: String { target.description }
        if reach.resolvesToNothing {
            var parts: [String] = []
            if !reach.gone.isEmpty { parts.append("gone from the directory: " + reach.gone.joined(separator: "; ")) }
            if !reach.unknownUsers.isEmpty { parts.append("unknown users: " + reach.unknownUsers.joined(separator: "; ")) }
            let detail = parts.isEmpty ? "it names no members" : parts.joined(separator: "; ")
            if case .group = target {
                return Reason(.targetGone, "the group is not in the snapshot: it was deleted or renamed in the directory, or is outside groups.base. Fix the name or restore the group, then run groupsync sync")
            }
            if !reach.gone.isEmpty {
                return Reason(.targetGone, "\(what) reaches only groups that are gone from the directory (\(reach.gone.joined(separator: "; "))): restore them or fix the configuration")
            }
            if case .policy = target {
                return Reason(.noTargets, "\(what) has no targets that resolve (\(detail)); fix its targets in the configuration")
            }
            return Reason(.targetGone, "\(what) has no members that resolve (\(detail)); fix its members in the configuration")
        }
        if reach.isEmpty {
            return Reason(
                .targetEmpty,
                "\(what) reaches only empty groups (\(reach.empty.joined(separator: "; "))): nobody can land there. Add \(label) to one of them in the directory, then run groupsync sync")
        }
        let (middle, end) = reach.notAMemberText(describing: what)
        var message = ""
        message.reserveCapacity(2 * label.utf8.count + middle.utf8.count + end.utf8.count)
        for part in [label, middle, label, end] { message += part }
        return Reason(.notAMember, message, suggestions: reach.groupNames)
    }

    /// The not-a-member message without the user's label, which goes before `middle` and
    /// between the two: "LABEL is in none of the groups … Add LABEL to one of them …".
    static func notAMemberText(names: [String], others: Int, describing what: String) -> (middle: String, end: String) {
        var middle = " is in none of the groups \(what) reaches"
        if !names.isEmpty {
            let listed = names.prefix(listedGroups).joined(separator: ", ") + (names.count > listedGroups ? ", … (\(names.count) in all)" : "")
            middle += " (\(listed))"
        }
        if others > 0 { middle += " and is not among its \(others) listed users, addresses or domains" }
        middle += ". Add "
        return (middle, " to one of them in the directory, then run groupsync sync")
    }
}
