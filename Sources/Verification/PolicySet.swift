import Foundation

/// What the configuration declares beside the directories: profile groups, relay profiles,
/// policies and intents (INTERFACE.md). Names are matched case-insensitively.
public struct PolicySet: Sendable, Equatable {
    public var profileGroups: [ProfileGroup]
    public var relayProfiles: [RelayProfile]
    public var policies: [Policy]
    public var intents: [Intent]

    public init(profileGroups: [ProfileGroup] = [], relayProfiles: [RelayProfile] = [], policies: [Policy] = [], intents: [Intent] = []) {
        self.profileGroups = profileGroups
        self.relayProfiles = relayProfiles
        self.policies = policies
        self.intents = intents
    }

    public var isEmpty: Bool { profileGroups.isEmpty && relayProfiles.isEmpty && policies.isEmpty && intents.isEmpty }

    public func profileGroup(named name: String) -> ProfileGroup? {
        profileGroups.first { $0.name.caseInsensitiveEquals(name) }
    }

    public func policy(named name: String) -> Policy? {
        policies.first { $0.name.caseInsensitiveEquals(name) }
    }

    public func relayProfile(named name: String) -> RelayProfile? {
        relayProfiles.first { $0.name.caseInsensitiveEquals(name) }
    }
}

/// A member of a profile group, a policy's target or a relay profile's senders.
public enum MemberSpec: Sendable, Hashable, CustomStringConvertible {
    /// A directory group, by DN or by name.
    case group(String)
    /// A directory user, by any name a user is known by.
    case user(String)
    /// Any address, directory user or not.
    case address(String)
    /// Any address at a domain.
    case domain(String)
    case profileGroup(String)

    public var description: String {
        switch self {
        case .group(let value): "group \(value)"
        case .user(let value): "user \(value)"
        case .address(let value): "address \(value)"
        case .domain(let value): "domain \(value)"
        case .profileGroup(let value): "profile group \(value)"
        }
    }
}

/// A group defined locally, not in the directory.
public struct ProfileGroup: Sendable, Equatable {
    public var name: String
    public var members: [MemberSpec]

    public init(name: String, members: [MemberSpec]) {
        self.name = name
        self.members = members
    }
}

/// The domains and addresses a sender may relay to, and who may relay.
public struct RelayProfile: Sendable, Equatable {
    public var name: String
    public var domains: [String]
    public var addresses: [String]
    public var senders: [MemberSpec]

    public init(name: String, domains: [String], addresses: [String] = [], senders: [MemberSpec]) {
        self.name = name
        self.domains = domains
        self.addresses = addresses
        self.senders = senders
    }
}

public struct Policy: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case blockedSenders = "blocked-senders"
        case permittedSenders = "permitted-senders"
        case contentExamination = "content-examination"
        case contentExaminationBypass = "content-examination-bypass"
        case antiSpoofingBypass = "anti-spoofing-bypass"
        case spamScanning = "spam-scanning"
        case relay

        /// The type whose effect is the opposite: a user under both is a conflict.
        public var opposite: Kind? {
            switch self {
            case .blockedSenders: .permittedSenders
            case .permittedSenders: .blockedSenders
            case .contentExamination: .contentExaminationBypass
            case .contentExaminationBypass: .contentExamination
            default: nil
            }
        }
    }

    public enum AppliesTo: String, Sendable, CaseIterable {
        case senders, recipients, both

        public func overlaps(_ other: AppliesTo) -> Bool {
            self == .both || other == .both || self == other
        }
    }

    public var name: String
    public var type: Kind
    public var appliesTo: AppliesTo
    /// Empty with ``everyone``: the policy applies to every user.
    public var targets: [MemberSpec]
    public var everyone: Bool

    public init(name: String, type: Kind, appliesTo: AppliesTo, targets: [MemberSpec], everyone: Bool) {
        self.name = name
        self.type = type
        self.appliesTo = appliesTo
        self.targets = targets
        self.everyone = everyone
    }
}

/// Where a user should land.
public enum Target: Sendable, Hashable, CustomStringConvertible {
    case group(String)
    case policy(String)
    case profileGroup(String)

    public var kind: String {
        switch self {
        case .group: "group"
        case .policy: "policy"
        case .profileGroup: "profile_group"
        }
    }

    public var name: String {
        switch self {
        case .group(let name), .policy(let name), .profileGroup(let name): name
        }
    }

    public var description: String {
        switch self {
        case .group(let name): "group \(name)"
        case .policy(let name): "policy \(name)"
        case .profileGroup(let name): "profile group \(name)"
        }
    }
}

/// A statement of where someone should land: users (named, members of a group, or matching
/// an LDAP filter) → groups, profile groups or policies.
public struct Intent: Sendable, Equatable {
    public enum Selector: Sendable, Equatable {
        case users([String])
        case group(String)
        /// An LDAP filter, ANDed with each directory's user filter at sync time.
        case filter(String)
    }

    public var name: String
    public var selector: Selector
    public var expect: [Target]

    public init(name: String, selector: Selector, expect: [Target]) {
        self.name = name
        self.selector = selector
        self.expect = expect
    }
}

extension String {
    /// Foundation's case-insensitive comparison; ASCII names (the usual) are compared
    /// byte by byte instead, which gives the same answer and is many times faster.
    func caseInsensitiveEquals(_ other: String) -> Bool {
        if self == other { return true }
        let (left, right) = (utf8, other.utf8)
        guard left.allSatisfy({ $0 < 0x80 }), right.allSatisfy({ $0 < 0x80 }) else {
            return compare(other, options: .caseInsensitive) == .orderedSame
        }
        guard left.count == right.count else { return false }
        return zip(left, right).allSatisfy { a, b in a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7A) }
    }
}
