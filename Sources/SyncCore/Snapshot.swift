/// Users, groups and direct memberships of one directory as of one moment: what the
/// directory says now (the *wanted* snapshot) or what the store holds (the *current* one).
public struct Snapshot: Sendable, Equatable {
    public var users: [String: DirectoryUser]
    public var groups: [String: DirectoryGroup]
    /// Group id → its direct members.
    public var members: [String: Set<MemberRef>]
    /// Group id → member values that matched nothing.
    public var unresolved: [String: Set<String>]
    /// Group id → fingerprint of its direct members, where known. A hint for the planner:
    /// groups with equal digests in both snapshots are not compared member by member.
    /// Not part of equality.
    public var memberDigests: [String: MemberDigest] = [:]
    /// Groups whose `members` were not loaded because they did not change since the last
    /// run: their digest (and its count) stands for them. Not part of equality.
    public var unloadedGroups: Set<String> = []
    /// Group id → the directory's change marker (OpenLDAP `entryCSN`) for that group, where
    /// known: a group whose marker did not move has the same members. Not part of equality.
    public var groupMarkers: [String: String] = [:]
    /// User id → the ``StableHash`` of its change marker with the mapping's scope
    /// (``SnapshotBuilder/markerHash(of:)``): in a directory snapshot for the users read
    /// whole, in a stored one (read by digest) for every user that has one. Users' markers
    /// are kept as hashes — 8 bytes where the text is about 50 — as only equality matters.
    /// Not part of equality.
    public var userMarkers: [String: UInt64] = [:]
    /// Set when only some users are loaded: `userDigests` then lists every user (id →
    /// ``DirectoryUser/stableDigest``), and `users` holds at least every user whose digest
    /// differs from the other snapshot's or who is missing from it. A stored snapshot is
    /// partial when read by digest; a directory snapshot when users whose change marker
    /// did not move were read as headers (their digest is the stored one). Not part of
    /// equality.
    public var partialUsers = false
    public var userDigests: [String: UInt64] = [:]
    /// With `partialUsers`: user id → ``DirectoryUser/resolutionDigest`` (0 when unknown).
    public var userResolutionDigests: [String: UInt64] = [:]

    public init(
        users: [String: DirectoryUser] = [:], groups: [String: DirectoryGroup] = [:],
        members: [String: Set<MemberRef>] = [:], unresolved: [String: Set<String>] = [:]
    ) {
        self.users = users
        self.groups = groups
        self.members = members
        self.unresolved = unresolved
    }

    public init(users: [DirectoryUser], groups: [DirectoryGroup], memberships: [Membership], unresolved: [UnresolvedMember] = []) {
        self.init()
        for user in users { self.users[user.id] = user }
        for group in groups { self.groups[group.id] = group }
        for membership in memberships { self.members[membership.groupID, default: []].insert(membership.member) }
        for value in unresolved { self.unresolved[value.groupID, default: []].insert(value.value) }
    }

    public var isEmpty: Bool { userCount == 0 && groups.isEmpty }

    /// How many users the snapshot has, loaded or not.
    public var userCount: Int { partialUsers ? userDigests.count : users.count }

    public static func == (lhs: Snapshot, rhs: Snapshot) -> Bool {
        lhs.users == rhs.users && lhs.groups == rhs.groups && lhs.members == rhs.members && lhs.unresolved == rhs.unresolved
    }

    /// Computes ``memberDigests`` for every group whose members are loaded.
    public mutating func computeDigests() {
        for id in groups.keys where !unloadedGroups.contains(id) { memberDigests[id] = MemberDigest(members[id] ?? []) }
    }

    /// Direct memberships, counting unloaded groups by their digest.
    public var membershipCount: Int {
        members.reduce(0) { $0 + (unloadedGroups.contains($1.key) ? 0 : $1.value.count) }
            + unloadedGroups.reduce(0) { $0 + (memberDigests[$1]?.count ?? 0) }
    }

    public var allMemberships: [Membership] {
        members.flatMap { group, refs in refs.map { Membership(groupID: group, member: $0) } }
    }


}
