/// The difference between what the store holds and what the directory says: everything a
/// run would change, each change with a description a person can read.
public struct Plan: Sendable, Equatable {
    public var usersAdded: [DirectoryUser] = []
    public var usersRemoved: [DirectoryUser] = []
    public var usersChanged: [Changed<DirectoryUser>] = []
    public var groupsAdded: [DirectoryGroup] = []
    public var groupsRemoved: [DirectoryGroup] = []
    public var groupsChanged: [Changed<DirectoryGroup>] = []
    public var membershipsAdded: [Membership] = []
    public var membershipsRemoved: [Membership] = []
    public var unresolvedAdded: [UnresolvedMember] = []
    public var unresolvedRemoved: [UnresolvedMember] = []
    /// Users who gain or lose effective (nested) membership of a group. Not computed for a
    /// first sync into an empty store, where every membership is new.
    public var effectiveGained: [EffectiveChange] = []
    public var effectiveLost: [EffectiveChange] = []
    /// The member fingerprint of every group added or whose members change, to store with it.
    public var memberDigests: [String: MemberDigest] = [:]
    /// Change markers (entryCSN) that moved since the last run, to remember once applied.
    public var groupMarkers: [String: String] = [:]
    /// The changes in order, described — at most the planner's `describeLimit` of them.
    public var changes: [PlannedChange] = []
    /// How many changes there are in all, described or not.
    public var changeCount = 0

    public init() {}

    /// True when applying the plan would write nothing to the snapshot.
    public var isEmpty: Bool {
        usersAdded.isEmpty && usersRemoved.isEmpty && usersChanged.isEmpty && groupsAdded.isEmpty
            && groupsRemoved.isEmpty && groupsChanged.isEmpty && membershipsAdded.isEmpty
            && membershipsRemoved.isEmpty && unresolvedAdded.isEmpty && unresolvedRemoved.isEmpty
    }

    public var counts: ChangeCounts {
        ChangeCounts(
            users: .init(added: usersAdded.count, removed: usersRemoved.count, changed: usersChanged.count),
            groups: .init(added: groupsAdded.count, removed: groupsRemoved.count, changed: groupsChanged.count),
            memberships: .init(added: membershipsAdded.count, removed: membershipsRemoved.count, changed: 0))
    }
}

/// An object before and after, with the fields that differ.
public struct Changed<Object: Sendable & Equatable>: Sendable, Equatable {
    public var before: Object
    public var after: Object
    public var fields: [FieldChange]

    public init(before: Object, after: Object, fields: [FieldChange]) {
        self.before = before
        self.after = after
        self.fields = fields
    }
}

public struct FieldChange: Sendable, Hashable, Codable {
    public var field: String
    public var before: String?
    public var after: String?

    public init(field: String, before: String?, after: String?) {
        self.field = field
        self.before = before
        self.after = after
    }
}

public struct EffectiveChange: Sendable, Hashable, Codable, Comparable {
    public var userID: String
    public var groupID: String

    public init(userID: String, groupID: String) {
        self.userID = userID
        self.groupID = groupID
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.groupID, lhs.userID) < (rhs.groupID, rhs.userID) }
}

/// Added/removed/changed counts per kind, as `sync --json` reports them.
public struct ChangeCounts: Sendable, Equatable, Codable {
    public struct Count: Sendable, Equatable, Codable {
        public var added: Int
        public var removed: Int
        public var changed: Int

        public init(added: Int = 0, removed: Int = 0, changed: Int = 0) {
            self.added = added
            self.removed = removed
            self.changed = changed
        }
    }

    public var users: Count
    public var groups: Count
    public var memberships: Count

    public init(users: Count = .init(), groups: Count = .init(), memberships: Count = .init()) {
        self.users = users
        self.groups = groups
        self.memberships = memberships
    }
}

/// One change as people read it in `sync` output and `runs show`.
public struct PlannedChange: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case user, group, membership, unresolved, effective
    }

    public enum Action: String, Sendable, Hashable, Codable {
        case added, removed, changed
    }

    public var kind: Kind
    public var action: Action
    /// The stable id of the object (for memberships, the group's).
    public var objectID: String
    /// The object's DN (for memberships and effective changes, the member's).
    public var dn: String
    /// A sentence: "add user alice (uid=alice,ou=people,…)".
    public var summary: String
    /// Field-level detail for changed objects.
    public var fields: [FieldChange]

    public init(kind: Kind, action: Action, objectID: String, dn: String, summary: String, fields: [FieldChange] = []) {
        self.kind = kind
        self.action = action
        self.objectID = objectID
        self.dn = dn
        self.summary = summary
        self.fields = fields
    }
}
