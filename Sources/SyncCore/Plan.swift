/// The difference between what the store holds and what the directory says: everything a
/// run would change, each change with a description a person can read.
public struct Plan: Sendable, Equatable {
    public var usersAdded: [DirectoryUser] = []
    public var usersRemoved: [DirectoryUser] = []
    public var usersChanged: [Changed<DirectoryUser>] = []
    public var groupsAdded: [DirectoryGroup] = []
    public var groupsRemoved: [DirectoryGroup] = []
    public var groupsChanged: [Changed<DirectoryGroup>] = []
    /// Members added to groups the store already holds.
    public var membershipsAdded: [Membership] = []
    /// The members of groups the store does not hold yet, shared with the wanted snapshot
    /// (not copied): a first sync adds a million memberships this way without listing them.
    public var newGroupMembers: [String: Set<MemberRef>] = [:]
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
    /// The change markers (hashes) of the users read whole, by id: what the rows of users
    /// added or changed are written with (a user written without one is read whole next
    /// time). Shared with the wanted snapshot, not copied.
    public var userMarkers: [String: UInt64] = [:]
    /// The markers that moved for users neither added nor changed (an attribute groupsync
    /// does not map changed): written on their own.
    public var movedUserMarkers: [String: UInt64] = [:]
    /// The changes in order, described — at most the planner's `describeLimit` of them.
    public var changes: [PlannedChange] = []
    /// How many changes there are in all, described or not.
    public var changeCount = 0

    public init() {}

    /// True when applying the plan would write nothing to the snapshot.
    public var isEmpty: Bool {
        usersAdded.isEmpty && usersRemoved.isEmpty && usersChanged.isEmpty && groupsAdded.isEmpty
            && groupsRemoved.isEmpty && groupsChanged.isEmpty && membershipsAdded.isEmpty && newGroupMembers.isEmpty
            && membershipsRemoved.isEmpty && unresolvedAdded.isEmpty && unresolvedRemoved.isEmpty
    }

    public var counts: ChangeCounts {
        ChangeCounts(
            users: .init(added: usersAdded.count, removed: usersRemoved.count, changed: usersChanged.count),
            groups: .init(added: groupsAdded.count, removed: groupsRemoved.count, changed: groupsChanged.count),
            memberships: .init(added: membershipsAddedCount, removed: membershipsRemoved.count, changed: 0))
    }

    /// Every membership the plan adds, to existing and to new groups.
    public var membershipsAddedCount: Int {
        newGroupMembers.values.reduce(membershipsAdded.count) { $0 + $1.count }
    }

    /// Every added membership as a list, group by group in id order (members in the
    /// planner's order). Builds the whole list: for tests and small plans.
    public var allMembershipsAdded: [Membership] {
        var result: [Membership] = []
        for (group, refs) in addedByGroup() { result += refs.map { Membership(groupID: group, member: $0) } }
        return result
    }

    /// The additions group by group, in group id order; members in a stable order (kind,
    /// then stable hash). Lazy: a caller that stops early sorts only what it reads.
    public func addedByGroup() -> some Sequence<(String, [MemberRef])> {
        var existing: [String: [MemberRef]] = [:]
        for membership in membershipsAdded { existing[membership.groupID, default: []].append(membership.member) }
        let groups = Set(existing.keys).union(newGroupMembers.keys).sorted()
        return groups.lazy.map { group in
            if let refs = existing[group] { return (group, refs) }
            return (group, (newGroupMembers[group] ?? []).sorted(by: Plan.memberOrder))
        }
    }

    /// A stable order that is cheap to sort (integers, not id strings).
    public static let memberOrder: @Sendable (MemberRef, MemberRef) -> Bool = { ($0.kind, $0.stableHash) < ($1.kind, $1.stableHash) }
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
