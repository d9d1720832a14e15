import Dispatch
import LDAPClient

/// Builds the wanted snapshot from search results as they stream in: users first, then
/// groups. Member values are resolved through normalised DNs (so another case or escaping
/// still matches); a value that matches no user or group in scope is kept as unresolved.
///
/// Member values that name users are resolved as each group arrives; only the others wait
/// for the end (they may name groups not read yet), which keeps memory low for large groups.
public struct SnapshotBuilder: Sendable {
    public let mapping: AttributeMapping
    private var snapshot = Snapshot()
    /// Each user's member reference, made once (its hash is computed once).
    private var userRefs: [MemberRef] = []
    private var userByDN = DNIndex()
    private var userByName: [String: Int32] = [:]
    private var groupByDN: [String: String] = [:]
    private var pendingDNs: [(groupID: String, normalized: String?, value: String)] = []
    private var buffer: [UInt8] = []
    private var pendingNames: [(groupID: String, value: String)] = []
    /// AD: group SID → group id, for primary group memberships.
    private var groupBySID: [String: String] = [:]
    /// Objects this run does not read that member values may name (``addKnown(_:normalizedDN:)``).
    private var knownByDN = DNIndex()
    private var knownRefs: [MemberRef] = []
    /// Appended to every change marker read (see ``AttributeMapping/markerScope``).
    public let markerSuffix: String
    private let expectedUsers: Int
    /// Users added as headers, registered for resolving member values only when a group
    /// is read with its members: a run in which no group changed never needs them.
    private var headerUsers: [(id: String, dn: String, username: String?)] = []

    /// `expectedUsers` and `expectedGroups` (e.g. the last run's totals) size the tables up
    /// front, so a large directory does not grow them step by step.
    public init(mapping: AttributeMapping, expectedUsers: Int = 0, expectedGroups: Int = 0) {
        self.mapping = mapping
        self.expectedUsers = expectedUsers
        markerSuffix = mapping.changeMarker == nil ? "" : "@" + mapping.markerScope
        snapshot.users.reserveCapacity(expectedUsers)
        snapshot.groups.reserveCapacity(expectedGroups)
        snapshot.members.reserveCapacity(expectedGroups)
        userRefs.reserveCapacity(expectedUsers)
        userByDN.reserveCapacity(expectedUsers)
        userByName.reserveCapacity(expectedUsers)
        groupByDN.reserveCapacity(expectedGroups)
    }

    /// The users added so far, whole or as headers.
    public var userCount: Int { userRefs.count + headerUsers.count }
    /// The users added whole so far, by id.
    public var users: [String: DirectoryUser] { snapshot.users }
    public var groupCount: Int { snapshot.groups.count }

    public mutating func addUser(_ entry: LDAPEntry) throws(MappingError) {
        let id = try stableID(of: entry)
        guard snapshot.users[id] == nil, snapshot.userDigests[id] == nil else {
            throw MappingError(dn: entry.dn, reason: "has the same \(mapping.id) \(id) as another user")
        }
        let normalized = try normalizedBytes(entry.dn)
        let user = DirectoryUser(
            id: id, dn: entry.dn, username: entry.string(mapping.username), mail: entry.string(mapping.mail),
            aliases: MailAddress.aliases(mapping.aliases.flatMap { entry.strings($0) }), displayName: entry.string(mapping.displayName),
            disabled: isDisabled(entry), primaryGroup: primaryGroupSID(entry))
        snapshot.users[id] = user
        if let marker = markerHash(of: entry) {
            if snapshot.userMarkers.isEmpty { snapshot.userMarkers.reserveCapacity(expectedUsers) }
            snapshot.userMarkers[id] = marker
        }
        register(id, normalizedDN: normalized, username: user.username)
    }

    /// Adds a user read as a header (``AttributeMapping/userHeaderAttributes``) whose change
    /// marker did not move since the last run: it is known by `digest` (the stored one) and
    /// resolves member values by its DN and username, but is not loaded. The snapshot
    /// becomes partial (``Snapshot/partialUsers``).
    public mutating func addUnchangedUser(_ entry: LDAPEntry, digest: UInt64) throws(MappingError) {
        try addUnchangedUser(id: try stableID(of: entry), dn: entry.dn, username: entry.string(mapping.username), digest: digest)
    }

    /// ``addUnchangedUser(_:digest:)`` with the entry's id, DN and username already taken out.
    public mutating func addUnchangedUser(id: String, dn: String, username: String?, digest: UInt64) throws(MappingError) {
        guard snapshot.users[id] == nil, snapshot.userDigests.updateValue(digest, forKey: id) == nil else {
            throw MappingError(dn: dn, reason: "has the same \(mapping.id) \(id) as another user")
        }
        if !snapshot.partialUsers {
            snapshot.partialUsers = true
            snapshot.userDigests.reserveCapacity(expectedUsers)
            headerUsers.reserveCapacity(expectedUsers)
        }
        headerUsers.append((id, dn, username))
    }

    /// Makes the users added as headers resolve member values.
    private mutating func registerHeaderUsers() throws(MappingError) {
        guard !headerUsers.isEmpty else { return }
        let users = headerUsers
        headerUsers = []
        for user in users { register(user.id, normalizedDN: try normalizedBytes(user.dn), username: user.username) }
    }

    /// What member values resolve a user through.
    private mutating func register(_ id: String, normalizedDN: [UInt8], username: String?) {
        let index = Int32(userRefs.count)
        userRefs.append(.user(id))
        userByDN.insert(normalized: normalizedDN, index: index)
        if let username { userByName[username.lowercased()] = index }
    }

    /// The hash of an entry's change marker with the mapping's scope, as users' markers are
    /// stored; nil without one.
    public func markerHash(of entry: LDAPEntry) -> UInt64? {
        guard let attribute = mapping.changeMarker else { return nil }
        return Self.markerHash(of: entry, attribute: attribute, suffix: markerSuffix)
    }

    /// ``markerHash(of:)`` without a builder at hand (`suffix`: its ``markerSuffix``).
    public static func markerHash(of entry: LDAPEntry, attribute: String, suffix: String) -> UInt64? {
        guard let values = entry.attribute(attribute), values.count == 1 else { return nil }
        return StableHash.of(values.value(at: 0), then: suffix)
    }

    /// The change marker of an entry as stored: the directory's value (`entryCSN`) with the
    /// mapping's scope (``AttributeMapping/markerScope``); nil without one.
    public func marker(of entry: LDAPEntry) -> String? {
        guard let attribute = mapping.changeMarker, let value = entry.string(attribute) else { return nil }
        return value + markerSuffix
    }

    /// Adds a group whose members did not change since the last run (its change marker did
    /// not move): its members stay unloaded, `digest` (the stored one) stands for them.
    public mutating func addUnchangedGroup(_ entry: LDAPEntry, digest: MemberDigest) throws(MappingError) {
        let id = try registerGroup(entry)
        snapshot.memberDigests[id] = digest
        snapshot.unloadedGroups.insert(id)
    }

    public mutating func addGroup(_ entry: LDAPEntry) throws(MappingError) {
        try registerHeaderUsers()
        let id = try registerGroup(entry)
        keep(resolveMembers(of: entry, scratch: &buffer), of: id)
    }

    /// ``addGroup(_:)`` for several groups, their member values resolved on up to `workers`
    /// threads at once (against the users, which no longer change once groups are read),
    /// then registered one by one in order. The result is the same as adding them one by one.
    public mutating func addGroups(_ entries: [LDAPEntry], workers: Int) throws(MappingError) {
        guard workers > 1, entries.count > 1 else {
            for entry in entries { try addGroup(entry) }
            return
        }
        try registerHeaderUsers()
        let resolved = resolveMembers(of: entries, workers: min(workers, entries.count))
        for (entry, members) in zip(entries, resolved) { keep(members, of: try registerGroup(entry)) }
    }

    /// A group's member values resolved against the users read and the known objects; the
    /// rest wait for ``finish(external:externalNames:)``.
    struct ResolvedMembers: Sendable {
        var members = Set<MemberRef>()
        var pendingDNs: [(normalized: String?, value: String)] = []
        var pendingNames: [String] = []
    }

    /// Reads the indexes only; `scratch` is the caller's normalisation buffer.
    private func resolveMembers(of entry: LDAPEntry, scratch: inout [UInt8]) -> ResolvedMembers {
        var resolved = ResolvedMembers()
        for attribute in mapping.member {
            guard let values = entry.attribute(attribute) else { continue }
            for index in 0..<values.count {
                let bytes = Self.stripOptionalUID(values.value(at: index))
                var parsed = false
                if let user = userByDN.lookup(bytes, scratch: &scratch, normalized: &parsed) {
                    resolved.members.insert(userRefs[Int(user)])
                } else if parsed, let known = knownByDN.lookup(normalized: scratch) {
                    resolved.members.insert(knownRefs[Int(known)])
                } else {
                    resolved.pendingDNs.append((parsed ? String(decoding: scratch, as: UTF8.self) : nil, String(decoding: bytes, as: UTF8.self)))
                }
            }
        }
        for attribute in mapping.memberUID {
            guard let values = entry.attribute(attribute) else { continue }
            for index in 0..<values.count {
                let value = String(decoding: values.value(at: index), as: UTF8.self)
                if let user = userByName[value.lowercased()] {
                    resolved.members.insert(userRefs[Int(user)])
                } else {
                    resolved.pendingNames.append(value)
                }
            }
        }
        return resolved
    }

    /// Each entry's members, resolved by `workers` threads taking every `workers`-th entry.
    private func resolveMembers(of entries: [LDAPEntry], workers: Int) -> [ResolvedMembers] {
        var resolved = [ResolvedMembers](repeating: ResolvedMembers(), count: entries.count)
        resolved.withUnsafeMutableBufferPointer { results in
            let results = UncheckedResults(base: results.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var scratch: [UInt8] = []
                // Each index is written by exactly one worker.
                for index in stride(from: worker, to: entries.count, by: workers) {
                    results.base[index] = resolveMembers(of: entries[index], scratch: &scratch)
                }
            }
        }
        return resolved
    }

    private mutating func keep(_ resolved: ResolvedMembers, of id: String) {
        for pending in resolved.pendingDNs { pendingDNs.append((id, pending.normalized, pending.value)) }
        for name in resolved.pendingNames { pendingNames.append((id, name)) }
        if !resolved.members.isEmpty { snapshot.members[id] = resolved.members }
    }

    /// The group object, its DN for resolving nested groups, and its change marker.
    private mutating func registerGroup(_ entry: LDAPEntry) throws(MappingError) -> String {
        let id = try stableID(of: entry)
        guard snapshot.groups[id] == nil else { throw MappingError(dn: entry.dn, reason: "has the same \(mapping.id) \(id) as another group") }
        let normalized = String(decoding: try normalizedBytes(entry.dn), as: UTF8.self)
        let name = entry.string(mapping.groupName) ?? (try? DistinguishedName(entry.dn))?.leafValue ?? entry.dn
        var type: String?
        if let attribute = mapping.groupType, let value = entry.string(attribute).flatMap({ Int64($0) }) {
            type = value & 0x8000_0000 != 0 ? "security" : "distribution"
        }
        var sid: String?
        if let attribute = mapping.sid, let bytes = entry[attribute].first { sid = Self.sidString(bytes) }
        snapshot.groups[id] = DirectoryGroup(id: id, dn: entry.dn, name: name, mail: entry.string(mapping.groupMail), type: type, sid: sid)
        groupByDN[normalized] = id
        if let sid { groupBySID[sid] = id }
        if let marker = marker(of: entry) { snapshot.groupMarkers[id] = marker }
        return id
    }

    /// An object this run does not read but whose DN member values may name — in an
    /// incremental run, the stored members of the groups it reads again (most of a changed
    /// group's values are the ones it had). Such values resolve as the group arrives, like
    /// users read, instead of waiting for ``finish(external:externalNames:)``. Objects read
    /// in this run must not be added: they are known by their new DN only.
    public mutating func addKnown(_ ref: MemberRef, normalizedDN: String) {
        knownByDN.insert(normalized: Array(normalizedDN.utf8), index: Int32(knownRefs.count))
        knownRefs.append(ref)
    }

    /// The stable id an entry would be registered under.
    public func id(of entry: LDAPEntry) throws(MappingError) -> String { try stableID(of: entry) }

    /// The member values no user read so far resolves and no group read so far names:
    /// normalised DNs and usernames (lower-cased). An incremental run looks them up in the
    /// store and hands the answers to ``finish(external:externalNames:)``.
    public var pendingKeys: (dns: Set<String>, names: Set<String>) {
        (Set(pendingDNs.compactMap { $0.normalized }.filter { groupByDN[$0] == nil }), Set(pendingNames.map { $0.value.lowercased() }))
    }

    /// Resolves the member values that waited for all groups, and returns the snapshot.
    /// `external` (normalised DN → object) and `externalNames` (lower-cased username → user
    /// id) resolve what the entries read do not: objects an incremental run did not re-read.
    public consuming func finish(external: [String: MemberRef] = [:], externalNames: [String: String] = [:]) -> Snapshot {
        for pending in pendingDNs {
            if let key = pending.normalized, let group = groupByDN[key] {
                snapshot.members[pending.groupID, default: []].insert(.group(group))
            } else if let key = pending.normalized, let ref = external[key] {
                snapshot.members[pending.groupID, default: []].insert(ref)
            } else {
                snapshot.unresolved[pending.groupID, default: []].insert(pending.value)
            }
        }
        for pending in pendingNames {
            if let id = externalNames[pending.value.lowercased()] {
                snapshot.members[pending.groupID, default: []].insert(.user(id))
            } else {
                snapshot.unresolved[pending.groupID, default: []].insert(pending.value)
            }
        }
        // AD primary groups. A skipped (unchanged) group keeps its stored members, which
        // include these: a user whose primary group changed makes every group load.
        if !groupBySID.isEmpty {
            for user in snapshot.users.values {
                guard let sid = user.primaryGroup, let group = groupBySID[sid], !snapshot.unloadedGroups.contains(group) else { continue }
                snapshot.members[group, default: []].insert(.user(user.id))
            }
        }
        if snapshot.partialUsers {
            for (id, user) in snapshot.users { snapshot.userDigests[id] = user.stableDigest }
        }
        snapshot.computeDigests()
        return snapshot
    }

    private func stableID(of entry: LDAPEntry) throws(MappingError) -> String { try Self.stableID(of: entry, in: mapping) }

    /// The stable id of an entry under a mapping, as the snapshot keys it.
    public static func stableID(of entry: LDAPEntry, in mapping: AttributeMapping) throws(MappingError) -> String {
        if mapping.idIsBinaryGUID {
            guard let bytes = entry[mapping.id].first, bytes.count == 16 else {
                throw MappingError(dn: entry.dn, reason: "has no 16-byte \(mapping.id) (the stable id attribute); groupsync cannot track it safely")
            }
            return Self.guidString(bytes)
        }
        guard let values = entry.attribute(mapping.id), values.count > 0, !values.value(at: 0).isEmpty else {
            throw MappingError(dn: entry.dn, reason: "has no \(mapping.id) (the stable id attribute); groupsync cannot track it safely")
        }
        // Ids are lower-cased; most (entryUUID) already are, and need no second string.
        let bytes = values.value(at: 0)
        let id = String(decoding: bytes, as: UTF8.self)
        return bytes.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") || $0 >= 0x80 } ? id.lowercased() : id
    }

    private mutating func normalizedBytes(_ dn: String) throws(MappingError) -> [UInt8] {
        if DistinguishedName.normalize(Array(dn.utf8)[...], into: &buffer) { return buffer }
        // It does not parse; the full parser says why.
        let reason: String
        do {
            _ = try DistinguishedName(dn)
            reason = "it could not be normalised"
        } catch {
            reason = error.reason
        }
        throw MappingError(dn: dn, reason: "the server returned a DN that does not parse: \(reason)")
    }

    /// The stable id of an entry under a mapping, as the snapshot keys it; nil when missing.
    public static func stableID(of entry: LDAPEntry, mapping: AttributeMapping) -> String? {
        try? stableID(of: entry, in: mapping)
    }

    /// The SID of a user's primary group: the user's own SID with its last part replaced by
    /// `primaryGroupID`.
    private func primaryGroupSID(_ entry: LDAPEntry) -> String? {
        guard let sidAttribute = mapping.sid, let ridAttribute = mapping.primaryGroupID,
              let bytes = entry[sidAttribute].first, let sid = Self.sidString(bytes),
              let rid = entry.string(ridAttribute), UInt32(rid) != nil,
              let dash = sid.lastIndex(of: "-")
        else { return nil }
        return sid[..<dash] + "-" + rid
    }

    /// A binary SID as text, `S-1-5-21-…`; nil when malformed.
    public static func sidString(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 8 else { return nil }
        let count = Int(bytes[1])
        guard bytes.count == 8 + 4 * count else { return nil }
        var authority: UInt64 = 0
        for byte in bytes[2..<8] { authority = authority << 8 | UInt64(byte) }
        var text = "S-\(bytes[0])-\(authority)"
        for index in 0..<count {
            let offset = 8 + 4 * index
            let part = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
            text += "-\(part)"
        }
        return text
    }

    /// AD's GUID layout: the first three fields little-endian, the rest as stored.
    public static func guidString(_ bytes: [UInt8]) -> String {
        let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for (position, index) in order.enumerated() {
            if [4, 6, 8, 10].contains(position) { text.append(UInt8(ascii: "-")) }
            text.append(hex[Int(bytes[index] >> 4)])
            text.append(hex[Int(bytes[index] & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes of a GUID string made by ``guidString(_:)``; nil when malformed.
    public static func guidBytes(_ text: String) -> [UInt8]? {
        let hex = text.filter { $0 != "-" }
        guard hex.count == 32 else { return nil }
        var stored: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            stored.append(byte)
            index = next
        }
        let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
        var bytes = [UInt8](repeating: 0, count: 16)
        for (position, index) in order.enumerated() { bytes[index] = stored[position] }
        return bytes
    }

    /// A filter that matches the object with this stable id under the mapping.
    public static func idFilter(_ id: String, mapping: AttributeMapping) -> LDAPFilter {
        if mapping.idIsBinaryGUID, let bytes = guidBytes(id) { return .equalBytes(mapping.id, bytes) }
        return .equal(mapping.id, id)
    }

    private func isDisabled(_ entry: LDAPEntry) -> Bool {
        guard let attribute = mapping.disabled else { return false }
        let values = entry.strings(attribute)
        guard !values.isEmpty else { return false }
        // AD: a bit mask, ACCOUNTDISABLE is 0x2.
        if attribute.lowercased() == "useraccountcontrol" { return values.contains { (Int($0) ?? 0) & 0x2 != 0 } }
        return values.contains { !["false", "0", "no"].contains($0.lowercased()) }
    }

    /// `uniqueMember` values may carry an optional UID (`dn#'0101'B`, RFC 4517 nameAndOptionalUID).
    public static func stripOptionalUID(_ value: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let start = value.startIndex, end = value.endIndex
        guard value.count > 3, value[end - 1] == UInt8(ascii: "B"), value[end - 2] == UInt8(ascii: "'") else {
            return value
        }
        var index = end - 3
        while index > start {
            if value[index] == UInt8(ascii: "'") && value[index - 1] == UInt8(ascii: "#") { return value[..<(index - 1)] }
            index -= 1
        }
        return value
    }
}

/// An entry that cannot be mapped; the run fails rather than guess.
public struct MappingError: Error, Sendable, CustomStringConvertible {
    public var dn: String
    public var reason: String

    public init(dn: String, reason: String) {
        self.dn = dn
        self.reason = reason
    }

    public var description: String { "entry \"\(dn)\" \(reason)" }
}

/// Disjoint slots of one buffer, written by the workers of ``SnapshotBuilder/addGroups(_:workers:)``.
private struct UncheckedResults: @unchecked Sendable {
    let base: UnsafeMutablePointer<SnapshotBuilder.ResolvedMembers>
}
