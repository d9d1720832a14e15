/// A directory user as groupsync keeps it. Identified by ``id`` (entryUUID, objectGUID,
/// nsUniqueId): a user moved or renamed keeps its id, so it is a change, not a new user.
public struct DirectoryUser: Sendable, Hashable, Codable {
    public var id: String
    public var dn: String
    public var username: String?
    public var mail: String?
    public var aliases: [String]
    public var displayName: String?
    public var disabled: Bool
    /// Active Directory: the SID of the user's primary group (`primaryGroupID`), which lists
    /// the user without a `member` value.
    public var primaryGroup: String?

    public init(
        id: String, dn: String, username: String? = nil, mail: String? = nil, aliases: [String] = [], displayName: String? = nil,
        disabled: Bool = false, primaryGroup: String? = nil
    ) {
        self.primaryGroup = primaryGroup
        self.id = id
        self.dn = dn
        self.username = username
        self.mail = mail
        self.aliases = aliases
        self.displayName = displayName
        self.disabled = disabled
    }

    /// The best short name for people: username, then mail, then the DN.
    public var label: String { username ?? mail ?? dn }
}

/// A directory group. Identified by ``id``; ``name`` is its cn (or sAMAccountName on AD).
public struct DirectoryGroup: Sendable, Hashable, Codable {
    public var id: String
    public var dn: String
    public var name: String
    public var mail: String?
    /// Active Directory: `security` or `distribution` (from `groupType`); nil elsewhere.
    public var type: String?
    /// Active Directory: the group's SID (`objectSid`), which users' `primaryGroupID` points at.
    public var sid: String?

    public init(id: String, dn: String, name: String, mail: String? = nil, type: String? = nil, sid: String? = nil) {
        self.type = type
        self.sid = sid
        self.id = id
        self.dn = dn
        self.name = name
        self.mail = mail
    }
}

/// What a membership points at: a user or a group, by id.
///
/// It carries a stable 64-bit hash of itself, computed once: sets of a million members hash
/// that instead of the id string, and member digests add it up.
public struct MemberRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable, Comparable {
        case user, group
        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public let kind: Kind
    public let id: String
    public let stableHash: UInt64

    public init(_ kind: Kind, _ id: String) {
        self.kind = kind
        self.id = id
        self.stableHash = MemberDigest.hash(kind: kind, id: id)
    }

    public static func user(_ id: String) -> MemberRef { MemberRef(.user, id) }
    public static func group(_ id: String) -> MemberRef { MemberRef(.group, id) }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.stableHash == rhs.stableHash && lhs.kind == rhs.kind && lhs.id == rhs.id
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(stableHash) }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.kind, lhs.id) < (rhs.kind, rhs.id) }

    public var description: String { "\(kind.rawValue):\(id)" }
}

/// A direct edge: `groupID` has `member` as the directory states it.
public struct Membership: Sendable, Hashable, Comparable {
    public var groupID: String
    public var member: MemberRef

    public init(groupID: String, member: MemberRef) {
        self.groupID = groupID
        self.member = member
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.groupID, lhs.member) < (rhs.groupID, rhs.member) }
}

/// A member value that matched no user or group in scope: kept and reported, never guessed.
public struct UnresolvedMember: Sendable, Hashable, Codable, Comparable {
    public var groupID: String
    /// The value as the directory wrote it (a DN, or a uid for posixGroup `memberUid`).
    public var value: String

    public init(groupID: String, value: String) {
        self.groupID = groupID
        self.value = value
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.groupID, lhs.value) < (rhs.groupID, rhs.value) }
}

extension DirectoryUser {
    /// A fingerprint of every field, stable across processes: a stored user whose
    /// fingerprint equals the directory's need not be read back or compared. Never 0, which
    /// stands for "unknown".
    public var stableDigest: UInt64 {
        // Hashed field by field, without building arrays or joined strings: a re-sync
        // compares 100,000 of these. The bytes are those of the fields, each followed by
        // 0x1F (nil as 0x01), the aliases joined by NUL — the stored values depend on it.
        var hash = StableHash()
        hash.addField(id)
        hash.addField(dn)
        hash.addField(username)
        hash.addField(mail)
        for (index, alias) in aliases.enumerated() {
            if index > 0 { hash.add(0) }
            hash.add(alias)
        }
        hash.add(0x1F)
        hash.addField(displayName)
        hash.addField(disabled ? "1" : "0")
        if let primaryGroup { hash.addField(primaryGroup) }
        return Self.nonZero(hash.value)
    }

    /// A fingerprint of what member values resolve through: the DN and the username (for
    /// posixGroup `memberUid`). Never 0.
    public var resolutionDigest: UInt64 {
        var hash = StableHash()
        hash.addField(id)
        hash.addField(dn)
        hash.addField(username)
        if let primaryGroup { hash.addField(primaryGroup) }
        return Self.nonZero(hash.value)
    }

    private static func nonZero(_ value: UInt64) -> UInt64 { value == 0 ? 1 : value }
}
