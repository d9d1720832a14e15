import SyncCore

/// A user of one directory.
public struct UserKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var directory: String
    public var id: String

    public init(directory: String, id: String) {
        self.directory = directory
        self.id = id
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.directory, lhs.id) < (rhs.directory, rhs.id) }
    public var description: String { "\(directory)/\(id)" }

    /// The id alone: ids rarely repeat across directories, and keys are hashed on every
    /// answer's hot path (equal keys still hash alike).
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A group of one directory.
public struct GroupKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The fields behind one reference: an answer copies a user's group keys into its own
    /// tables, and the daemon's two event loops copy the same popular groups' keys at once;
    /// one count per copy instead of one per string. Immutable; a change makes a new one.
    private final class Storage: Sendable {
        let directory: String
        let id: String
        /// The id's hash, made once: an answer looks keys up in a dozen tables, and hashing
        /// a 36-character id each time was a tenth of its cost.
        let idHash: Int

        init(directory: String, id: String) {
            self.directory = directory
            self.id = id
            idHash = id.hashValue
        }
    }

    private var storage: Storage

    public init(directory: String, id: String) {
        storage = Storage(directory: directory, id: id)
    }

    public var directory: String {
        get { storage.directory }
        set { storage = Storage(directory: newValue, id: storage.id) }
    }

    public var id: String {
        get { storage.id }
        set { storage = Storage(directory: storage.directory, id: newValue) }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.directory, lhs.id) < (rhs.directory, rhs.id) }
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.storage === rhs.storage
            || (lhs.storage.idHash == rhs.storage.idHash && lhs.storage.id == rhs.storage.id && lhs.storage.directory == rhs.storage.directory)
    }
    public var description: String { "\(directory)/\(id)" }

    /// The id alone: ids rarely repeat across directories (equal keys still hash alike).
    public func hash(into hasher: inout Hasher) { hasher.combine(storage.idHash) }
}

public struct UserInfo: Sendable, Hashable {
    public var directory: String
    public var user: DirectoryUser
    /// The user's number in the catalog that returned it (the store's row id): set
    /// operations over tens of thousands of users compare these, not id strings.
    public var ref: Int64

    public init(directory: String, user: DirectoryUser, ref: Int64 = 0) {
        self.directory = directory
        self.user = user
        self.ref = ref
    }

    public var key: UserKey { UserKey(directory: directory, id: user.id) }

    /// Mail and aliases, lower-cased.
    public var addresses: Set<String> {
        Set(([user.mail].compactMap { $0 } + user.aliases).map { $0.lowercased() })
    }

    /// Whether the mail or an alias is at `domain` (what follows the last `@`, compared
    /// case-insensitively): `addresses` holds one with `MailAddress.domain(of:)` equal to
    /// `domain.lowercased()`. Compared byte by byte when both are ASCII, without making the
    /// set; a policy's domain spec asks this on every answer.
    public func hasAddress(inDomain domain: String) -> Bool {
        let asciiDomain = domain.utf8.allSatisfy { $0 < 0x80 }
        func matches(_ address: String) -> Bool {
            let bytes = address.utf8
            guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return false }
            let part = bytes[bytes.index(after: at)...]
            guard !part.isEmpty else { return false }
            if asciiDomain, part.allSatisfy({ $0 < 0x80 }) {
                return part.count == domain.utf8.count && zip(part, domain.utf8).allSatisfy { Self.asciiLower($0) == Self.asciiLower($1) }
            }
            return MailAddress.domain(of: address.lowercased()) == domain.lowercased()
        }
        if let mail = user.mail, matches(mail) { return true }
        return user.aliases.contains(where: matches)
    }

    private static func asciiLower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}

public struct GroupInfo: Sendable, Hashable {
    /// The fields behind one reference: the daemon's index hands the same groups to every
    /// answer on both event loops, and copying a group then counts one reference instead
    /// of one per string (counts the two loops fight over). Immutable; a change makes a new one.
    private final class Storage: Sendable {
        let directory: String
        let group: DirectoryGroup
        /// Made once: the verification walks ask every group's key.
        let key: GroupKey

        init(directory: String, group: DirectoryGroup) {
            self.directory = directory
            self.group = group
            key = GroupKey(directory: directory, id: group.id)
        }
    }

    private var storage: Storage

    public init(directory: String, group: DirectoryGroup) {
        storage = Storage(directory: directory, group: group)
    }

    public var directory: String {
        get { storage.directory }
        set { storage = Storage(directory: newValue, group: storage.group) }
    }

    public var group: DirectoryGroup {
        get { storage.group }
        set { storage = Storage(directory: storage.directory, group: newValue) }
    }

    public var key: GroupKey { storage.key }
    public var name: String { storage.group.name }
    public var dn: String { storage.group.dn }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.storage === rhs.storage || (lhs.directory == rhs.directory && lhs.group == rhs.group)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(directory)
        hasher.combine(group)
    }
}

/// A user and every group above them in the stored snapshot: the groups they are a direct
/// member of, and the nesting edges among the groups reachable from there.
public struct UserGraph: Sendable {
    public var user: UserInfo
    public var groups: [GroupKey: GroupInfo]
    public var direct: [GroupKey]
    /// Group → the groups it is a direct member of (only groups in ``groups``).
    public var parents: [GroupKey: [GroupKey]]

    public init(user: UserInfo, groups: [GroupKey: GroupInfo], direct: [GroupKey], parents: [GroupKey: [GroupKey]]) {
        self.user = user
        self.groups = groups
        self.direct = direct
        self.parents = parents
    }
}

/// The stored snapshot, as verification asks it: lookups by name and the effective members
/// of groups. The store implements it; tests may use a value.
public protocol Catalog {
    /// Users by key, skipping keys the snapshot lacks.
    func users(keys: [UserKey]) throws -> [UserInfo]
    /// Groups by DN (any spelling of it) or by name, case-insensitively, in every directory.
    func groups(matching name: String) throws -> [GroupInfo]
    /// Users by username, mail, alias or DN, case-insensitively, in every directory.
    func users(matching name: String) throws -> [UserInfo]
    /// The groups nested in these, at any depth (not these themselves).
    func nestedGroups(of groups: [GroupKey]) throws -> [GroupInfo]
    /// Whether any user is a direct member of any of these groups.
    func hasUserMembers(_ groups: [GroupKey]) throws -> Bool
    /// The users in these groups directly or through nesting.
    func effectiveUsers(of groups: [GroupKey]) throws -> [UserInfo]
    /// The same users, as ``UserInfo/ref`` numbers only (cheap for large groups).
    func effectiveUserRefs(of groups: [GroupKey]) throws -> Set<Int64>
    /// The users with one of these addresses or an address at one of these domains, as refs.
    func userRefs(withAddresses addresses: [String], domains: [String]) throws -> [Int64]
    /// Users by ``UserInfo/ref``.
    func users(refs: [Int64]) throws -> [UserInfo]
    /// The user and every group above them, with the nesting edges among those groups.
    func graph(of user: UserInfo) throws -> UserGraph
    /// Usernames and addresses close to a name that matched no user, best first.
    func closeMatches(to name: String, limit: Int) throws -> [String]
}
