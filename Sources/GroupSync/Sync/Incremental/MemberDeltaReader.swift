import Foundation
import LDAPClient
import SyncCore
import SyncStore

/// The narrow snapshots of a run whose changes are member values only, with the effective
/// membership change worked out user by user.
struct MemberDelta {
    var wanted: Snapshot
    var current: Snapshot
    var effective: EffectiveDelta
    /// Where the values came from, for the run's message (`runs show`), when not the usual.
    var note: String?
}

extension IncrementalReader {
    /// The common incremental run — users added to and removed from groups — at a cost that
    /// follows the member values that changed rather than the size of the changed groups.
    ///
    /// Each changed group is read again and its member values are compared with the stored
    /// members by the stable hash of their normalised DN (the store hashes its DN keys straight
    /// from SQLite's buffers; PostgreSQL hashes them as they arrive), so unchanged values need
    /// no lookup and no string; only values that are new are resolved, and only members that
    /// left are named. The narrow snapshots then hold just those members (with the group's
    /// digest updated by them), and the effective-membership change comes from each changed
    /// user's direct groups and the stored nesting (``EffectiveDelta``) instead of collecting the members of every group
    /// above the changed ones.
    ///
    /// Nil — and the run compares whole member sets (``read(_:changed:)``) — whenever the
    /// changes are anything else: a user or a new, deleted, renamed or otherwise modified
    /// group, a group with unresolved values or `memberUid` values, a group added to or
    /// removed from a group, a value that names nothing in scope, Active Directory mapping,
    /// or a store that does not offer member-level reads.
    func readMemberDeltas(_ session: LDAPSession, changed ids: Set<String>) async throws -> MemberDelta? {
        let name = directory.name
        func skip(_ reason: String) -> MemberDelta? {
            logger.debug("comparing whole member sets", metadata: ["directory": "\(name)", "because": "\(reason)"])
            return nil
        }
        guard !ids.isEmpty, mapping.sid == nil else { return skip("no changes, or Active Directory mapping") }
        let clock = ContinuousClock()
        let started = clock.now
        let kinds = try store.kinds(directory: name, ids: ids)
        let kindsRead = clock.now
        guard kinds.count == ids.count, kinds.values.allSatisfy({ $0 == .group }) else { return skip("the changes include users or new groups") }
        guard let stored = try store.storedMembers(directory: name, groupIDs: ids), stored.count == ids.count else {
            return skip("the store offers no member-level reads")
        }
        guard stored.values.allSatisfy({ !$0.hasUnresolved && !$0.hashesCollide && $0.digest != nil }) else {
            return skip("a changed group has unresolved member values or no member digest")
        }
        let storedRead = clock.now
        var counter = EntryCounter(progress: nil)
        let entries = try await fetch(ids, search: directory.groups, attributes: mapping.groupAttributes, session: session, counter: &counter)
        guard entries.count == ids.count else { return skip("a changed group was deleted or left the scope") }
        let fetched = clock.now

        var wanted = Snapshot(), current = Snapshot()
        var addedKeys: [(group: String, key: String)] = []
        var removed: [(group: String, member: StoredMember)] = []
        var buffer: [UInt8] = []
        // The groups as a full read maps them (without members); anything but its members
        // changed in one: not ours.
        var builder = SnapshotBuilder(mapping: mapping)
        for entry in entries.values { try builder.addUnchangedGroup(entry, digest: MemberDigest()) }
        let header = builder.finish()
        for (id, entry) in entries {
            guard let old = stored[id] else { return skip("a changed group is not stored") }
            guard let group = header.groups[id], group == old.group else { return skip("group \(id) changed more than its members") }
            // posixGroup memberUid values name users by username: whole member sets then.
            for attribute in mapping.memberUID where entry.attribute(attribute).map({ $0.count > 0 }) ?? false {
                return skip("group \(id) has \(attribute) values")
            }
            var seen = Set<UInt64>(minimumCapacity: old.byKeyHash.count)
            for attribute in mapping.member {
                guard let values = entry.attribute(attribute) else { continue }
                for index in 0..<values.count {
                    guard DistinguishedName.normalize(SnapshotBuilder.stripOptionalUID(values.value(at: index)), into: &buffer) else {
                        return skip("group \(id) has a member value that is not a DN")
                    }
                    let hash = StableHash.of(buffer)
                    if old.byKeyHash[hash] != nil {
                        seen.insert(hash)
                    } else {
                        addedKeys.append((id, String(decoding: buffer, as: UTF8.self)))
                    }
                }
            }
            for (hash, member) in old.byKeyHash where !seen.contains(hash) {
                // A group leaving a group changes the nesting: whole member sets then.
                guard member.kind == .user else { return skip("a group left group \(id)") }
                removed.append((id, member))
            }
            wanted.groups[id] = group
            current.groups[id] = old.group
            wanted.groupMarkers[id] = header.groupMarkers[id]
            current.groupMarkers[id] = old.marker
        }
        let compared = clock.now

        // New values must name users in scope; members that left are named by id.
        let resolved = try store.objects(directory: name, dnKeys: Set(addedKeys.map(\.key)))
        for (group, key) in addedKeys {
            guard let ref = resolved[key], ref.kind == .user else { return skip("a new value of group \(group) names a group or nothing in scope") }
            wanted.members[group, default: []].insert(ref)
        }
        let leaving = try store.memberIDs(directory: name, stored: Set(removed.map(\.member)))
        for (group, member) in removed {
            guard let ref = leaving[member] else { return skip("a stored member of group \(group) has no id") }
            current.members[group, default: []].insert(ref)
        }
        var digests: [String: MemberDigest] = [:]
        for id in ids {
            guard let digest = stored[id]?.digest else { return skip("group \(id) has no member digest") }
            digests[id] = digest
        }
        let namedMembers = clock.now
        let effective = try completeMemberDelta(digests: digests, wanted: &wanted, current: &current, directGroups: nil)
        logger.info("read member changes", metadata: [
            "directory": "\(name)", "groups": "\(ids.count)", "values added": "\(addedKeys.count)", "values removed": "\(removed.count)",
            "timings": .string(
                "kinds \(kindsRead - started), stored \(storedRead - kindsRead), read \(fetched - storedRead), compared \(compared - fetched), "
                    + "resolved \(namedMembers - compared), effective \(clock.now - namedMembers)"),
        ])
        return MemberDelta(wanted: wanted, current: current, effective: effective)
    }

    /// Finishes the narrow snapshots of a member-value run: drops values that name a member
    /// on both sides (spelled otherwise, same member), updates each changed group's digest
    /// by the members that came and went, and works out the effective-membership change user
    /// by user from their direct groups (`directGroups`, read here when nil) and the stored
    /// nesting; the groups that change names the report names are added to both snapshots.
    func completeMemberDelta(
        digests: [String: MemberDigest], wanted: inout Snapshot, current: inout Snapshot, directGroups: [String: Set<String>]?,
        edges knownEdges: [String: Set<String>]? = nil
    ) throws -> EffectiveDelta {
        let name = directory.name
        var added: [String: Set<String>] = [:], left: [String: Set<String>] = [:]
        for (id, digest) in digests {
            let both = (wanted.members[id] ?? []).intersection(current.members[id] ?? [])
            if !both.isEmpty {
                wanted.members[id]?.subtract(both)
                current.members[id]?.subtract(both)
            }
            var updated = digest
            for ref in current.members[id] ?? [] {
                updated.remove(ref)
                left[ref.id, default: []].insert(id)
            }
            for ref in wanted.members[id] ?? [] {
                updated.add(ref)
                added[ref.id, default: []].insert(id)
            }
            current.memberDigests[id] = digest
            wanted.memberDigests[id] = updated
        }
        let edges = try knownEdges ?? store.groupEdges(directory: name)
        var parents: [String: Set<String>] = [:]
        for (parent, children) in edges { for child in children { parents[child, default: []].insert(parent) } }
        let direct = try directGroups ?? store.directGroups(directory: name, userIDs: Set(added.keys).union(left.keys))
        let effective = EffectiveDelta.of(added: added, removed: left, directGroups: direct, parents: parents)
        // The groups the report names, for their names.
        var named = Set(effective.gained.map(\.groupID)).union(effective.lost.map(\.groupID))
        named.subtract(digests.keys)
        for (id, group) in try store.groups(directory: name, ids: named) {
            wanted.groups[id] = group
            current.groups[id] = group
        }
        return effective
    }
}
