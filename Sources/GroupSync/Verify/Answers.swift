import Foundation
import SyncCore
import Verification

/// The JSON answers of `verify`, `explain` and `report` (INTERFACE.md); the same shapes
/// back the human output and, later, the HTTP API.
public struct UserJSON: Codable, Sendable {
    public var directory: String
    public var id: String
    public var dn: String
    public var username: String?
    public var mail: String?
    public var displayName: String?
    public var disabled: Bool

    enum CodingKeys: String, CodingKey {
        case directory, id, dn, username, mail, disabled
        case displayName = "display_name"
    }

    init(_ info: UserInfo) {
        directory = info.directory
        id = info.user.id
        dn = info.user.dn
        username = info.user.username
        mail = info.user.mail
        displayName = info.user.displayName
        disabled = info.user.disabled
    }
}

public struct VerifyAnswer: Codable, Sendable {
    public struct TargetJSON: Codable, Sendable {
        public var kind: String
        public var name: String
    }

    public struct Live: Codable, Sendable {
        /// Whether the directory itself has the user in the target now.
        public var landed: Bool
        public var message: String

        public init(landed: Bool, message: String) {
            self.landed = landed
            self.message = message
        }
    }

    public struct Result: Codable, Sendable {
        public var target: TargetJSON
        public var landed: Bool
        public var paths: [[String]]
        public var reason: String?
        public var reasonCode: String?
        public var suggestions: [String]?
        public var live: Live?
        /// The paths with each hop's kind, for human output ("profile group X → policy X");
        /// labelled when shown (the API never shows them).
        var steps: [MembershipPath] = []

        enum CodingKeys: String, CodingKey {
            case target, landed, paths, reason, suggestions, live
            case reasonCode = "reason_code"
        }

        /// `reason` is always present: `null` when landed (INTERFACE.md).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(target, forKey: .target)
            try container.encode(landed, forKey: .landed)
            try container.encode(paths, forKey: .paths)
            try container.encode(reason, forKey: .reason)
            try container.encode(reasonCode, forKey: .reasonCode)
            try container.encodeIfPresent(suggestions, forKey: .suggestions)
            try container.encodeIfPresent(live, forKey: .live)
        }

        public init(_ result: TargetResult) {
            target = TargetJSON(kind: result.target.kind, name: result.target.name)
            landed = result.landed
            paths = result.paths.map { $0.map(\.name) }
            steps = result.paths
            reason = result.reason?.message
            reasonCode = result.reason?.code.rawValue
            suggestions = result.reason.flatMap { $0.suggestions.isEmpty ? nil : $0.suggestions }
        }
    }

    /// The name asked about, as given.
    public var query: String
    public var user: UserJSON?
    public var snapshot: SnapshotInfo?
    public var results: [Result]

    public var allLanded: Bool { results.allSatisfy(\.landed) }

    public init(query: String, user: UserJSON?, snapshot: SnapshotInfo?, results: [Result]) {
        self.query = query
        self.user = user
        self.snapshot = snapshot
        self.results = results
    }

    enum CodingKeys: String, CodingKey { case query, user, snapshot, results }

    /// `user` is always present: `null` when no user matched (INTERFACE.md).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(query, forKey: .query)
        try container.encode(user, forKey: .user)
        try container.encode(snapshot, forKey: .snapshot)
        try container.encode(results, forKey: .results)
    }
}

extension VerifyAnswer.Result {
    /// The paths for people; names only when the answer came as JSON (from the daemon).
    var displayPaths: [String] {
        steps.isEmpty ? paths.map { $0.joined(separator: " → ") } : steps.map(Self.label)
    }

    /// A path for people: users and groups by name, the other hops with their kind.
    static func label(_ path: MembershipPath) -> String {
        path.map { step in
            switch step.kind {
            case .user, .group, .everyone: step.name
            case .profileGroup: "profile group \(step.name)"
            case .relayProfile: "relay profile \(step.name)"
            case .policy: "policy \(step.name)"
            case .address: "address \(step.name)"
            case .domain: "domain \(step.name)"
            }
        }.joined(separator: " → ")
    }
}

public struct ExplainAnswer: Codable, Sendable {
    public struct Group: Codable, Sendable {
        public var directory: String
        public var dn: String
        public var name: String
        /// Active Directory: security or distribution.
        public var type: String?
        public var direct: Bool
        public var path: [String]
        public var paths: [[String]]
    }

    public struct Named: Codable, Sendable {
        public var name: String
        public var path: [String]
        public var paths: [[String]]
    }

    public struct PolicyJSON: Codable, Sendable {
        public var name: String
        public var type: String
        public var appliesTo: String
        public var everyone: Bool
        public var via: [String]
        public var path: [String]

        enum CodingKeys: String, CodingKey {
            case name, type, everyone, via, path
            case appliesTo = "applies_to"
        }
    }

    public struct Relay: Codable, Sendable {
        public var name: String
        public var domains: [String]
        public var addresses: [String]
        public var path: [String]
    }

    public struct ConflictJSON: Codable, Sendable {
        public var kind: String
        public var policies: [String]
        public var message: String
    }

    public var user: UserJSON
    public var snapshot: SnapshotInfo
    public var groups: [Group]
    public var profileGroups: [Named]
    public var policies: [PolicyJSON]
    public var relayProfiles: [Relay]
    public var conflicts: [ConflictJSON]

    enum CodingKeys: String, CodingKey {
        case user, snapshot, groups, policies, conflicts
        case profileGroups = "profile_groups"
        case relayProfiles = "relay_profiles"
    }

    init(_ coverage: Coverage, snapshot: SnapshotInfo) {
        func names(_ path: MembershipPath) -> [String] { path.map(\.name) }
        user = UserJSON(coverage.user)
        self.snapshot = snapshot
        groups = coverage.groups.map {
            Group(directory: $0.group.directory, dn: $0.group.dn, name: $0.group.name, type: $0.group.group.type, direct: $0.direct,
                  path: names($0.paths.first ?? []), paths: $0.paths.map(names))
        }
        profileGroups = coverage.profileGroups.map { Named(name: $0.name, path: names($0.paths.first ?? []), paths: $0.paths.map(names)) }
        policies = coverage.policies.map {
            PolicyJSON(name: $0.policy.name, type: $0.policy.type.rawValue, appliesTo: $0.policy.appliesTo.rawValue,
                       everyone: $0.policy.everyone, via: $0.via, path: names($0.paths.first ?? []))
        }
        relayProfiles = coverage.relayProfiles.map {
            Relay(name: $0.profile.name, domains: $0.profile.domains, addresses: $0.profile.addresses, path: names($0.paths.first ?? []))
        }
        conflicts = coverage.conflicts.map { ConflictJSON(kind: $0.kind.rawValue, policies: $0.policies, message: $0.message) }
    }
}

public struct ReportAnswer: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var user: String
        public var target: VerifyAnswer.TargetJSON
        public var reason: String?
        public var reasonCode: String?

        enum CodingKeys: String, CodingKey {
            case user, target, reason
            case reasonCode = "reason_code"
        }
    }

    public struct IntentJSON: Codable, Sendable {
        public var name: String
        public var landed: [Row]
        public var notLanded: [Row]
        public var newlyLanded: [Row]
        public var lost: [Row]

        enum CodingKeys: String, CodingKey {
            case name, landed, lost
            case notLanded = "not_landed"
            case newlyLanded = "newly_landed"
        }
    }

    public struct Finding: Codable, Sendable {
        public var severity: String
        public var code: String
        public var subject: String
        public var message: String
    }

    /// The run whose evaluation this is, and the one it is compared with.
    public var runID: Int64?
    public var evaluatedAt: String?
    public var previousRunID: Int64?
    public var intents: [IntentJSON]
    public var lint: [Finding]

    enum CodingKeys: String, CodingKey {
        case intents, lint
        case runID = "run_id"
        case evaluatedAt = "evaluated_at"
        case previousRunID = "previous_run_id"
    }

    public var notLandedCount: Int { intents.reduce(0) { $0 + $1.notLanded.count } }
    public var lintErrors: Int { lint.filter { $0.severity == "error" }.count }
    public var isClean: Bool { notLandedCount == 0 && lintErrors == 0 }

    /// One line for the end of `groupsync sync`.
    public var summary: String {
        let rows = intents.reduce(0) { $0 + $1.landed.count + $1.notLanded.count }
        let newly = intents.reduce(0) { $0 + $1.newlyLanded.count }
        let lost = intents.reduce(0) { $0 + $1.lost.count }
        return "landing: \(rows - notLandedCount) of \(rows) expected placements landed across \(intents.count) intent"
            + "\(intents.count == 1 ? "" : "s") (\(newly) newly landed, \(lost) lost); lint: \(lintErrors) error"
            + "\(lintErrors == 1 ? "" : "s"), \(lint.count - lintErrors) warning\(lint.count - lintErrors == 1 ? "" : "s")"
            + (isClean ? "" : " — groupsync report")
    }
}
