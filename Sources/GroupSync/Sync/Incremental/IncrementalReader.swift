import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncCore
import SyncStore

/// An incremental run's read. Given the ids a change feed named, it reads those objects again
/// in the configured scope (so filters and mapping are the full run's), works out which
/// stored groups the changes reach — groups that list a removed, moved or renamed object,
/// groups with unresolved values a new name now matches, AD primary groups that gain or lose
/// users — reads those groups too, and returns two *narrow* snapshots: what the directory
/// says and what the store holds, for just these objects and the groups above and below
/// them (for the effective-membership report). The planner's diff of the two is the run's
/// plan; the cost follows the changes, not the directory.
struct IncrementalReader {
    let reader: DirectoryReader
    let mapping: AttributeMapping
    let store: any SnapshotStore
    let logger: Logger

    var directory: DirectoryConfig { reader.directory }

    enum Outcome {
        case read(wanted: Snapshot, current: Snapshot, reread: Int)
        /// Something an incremental run cannot settle; the run is made full instead.
        case needsFull(String)
    }

    func read(_ session: LDAPSession, changed ids: Set<String>) async throws -> Outcome {
        let name = directory.name
        let clock = ContinuousClock()
        var timings: [String] = []
        var lap = clock.now
        func mark(_ step: String) {
            timings.append("\(step) \(clock.now - lap)")
            lap = clock.now
        }
        var counter = EntryCounter(progress: nil)
        let userEntries = try await fetch(ids, search: directory.users, attributes: mapping.userAttributes, session: session, counter: &counter)
        var groupEntries = try await fetch(
            ids.subtracting(userEntries.keys), search: directory.groups, attributes: mapping.groupAttributes, session: session, counter: &counter)

        mark("read")
        let kinds = try store.kinds(directory: name, ids: ids)
        let storedUserIDs = Set(kinds.filter { $0.value == .user }.keys)
        let storedGroupIDs = Set(kinds.filter { $0.value == .group }.keys)
        // The stored members' DN keys: most member values of a changed group are the ones it
        // had, and resolve to the same objects without a lookup.
        var memberKeys: [String: MemberRef]? = [:]
        let before = try store.partialSnapshot(directory: name, userIDs: storedUserIDs, groupIDs: storedGroupIDs, memberKeys: &memberKeys)

        var builder = SnapshotBuilder(mapping: mapping)
        for entry in userEntries.values { try builder.addUser(entry) }
        let users = builder.users

        // What the changes reach beyond themselves.
        var moved = Set<MemberRef>()
        var newDNKeys = Set<String>()
        var newNames = Set<String>()
        var primarySIDs = Set<String>()
        for id in storedUserIDs where users[id] == nil {
            moved.insert(.user(id))
            if let sid = before.users[id]?.primaryGroup { primarySIDs.insert(sid) }
        }
        for (id, user) in users {
            let old = before.users[id]
            if let old, DNKey.of(old.dn) == DNKey.of(user.dn), old.username?.lowercased() == user.username?.lowercased() {
                // Same names: member values resolve to it as before.
            } else {
                if old != nil { moved.insert(.user(id)) }
                newDNKeys.insert(DNKey.of(user.dn))
                if let username = user.username { newNames.insert(username.lowercased()) }
            }
            if old?.primaryGroup != user.primaryGroup {
                if let sid = old?.primaryGroup { primarySIDs.insert(sid) }
                if let sid = user.primaryGroup { primarySIDs.insert(sid) }
            }
        }
        var groupSIDs: [String: String] = [:]
        for (id, entry) in groupEntries {
            if let old = before.groups[id] {
                if DNKey.of(old.dn) != DNKey.of(entry.dn) {
                    moved.insert(.group(id))
                    newDNKeys.insert(DNKey.of(entry.dn))
                }
            } else {
                newDNKeys.insert(DNKey.of(entry.dn))
            }
            if let attribute = mapping.sid, let bytes = entry[attribute].first, let sid = SnapshotBuilder.sidString(bytes) { groupSIDs[sid] = id }
        }
        for id in storedGroupIDs where groupEntries[id] == nil { moved.insert(.group(id)) }

        mark("stored")
        var extra = try store.groupsContaining(directory: name, members: moved)
        if !newDNKeys.isEmpty || !newNames.isEmpty {
            for (group, values) in try store.unresolvedValues(directory: name)
            where values.contains(where: { newDNKeys.contains(DNKey.of($0)) || newNames.contains($0.lowercased()) }) {
                extra.insert(group)
            }
        }
        if !primarySIDs.isEmpty {
            let stored = try store.groups(directory: name, sids: primarySIDs)
            for sid in primarySIDs { if let id = groupSIDs[sid] ?? stored[sid] { extra.insert(id) } }
        }
        extra.subtract(groupEntries.keys)
        extra.subtract(storedGroupIDs)
        if !extra.isEmpty {
            let fetched = try await fetch(extra, search: directory.groups, attributes: mapping.groupAttributes, session: session, counter: &counter)
            guard fetched.count == extra.count else {
                return .needsFull("\(extra.count - fetched.count) group(s) that a change reaches left the scope while the run read them")
            }
            groupEntries.merge(fetched) { first, _ in first }
        }

        mark("reached")
        // Member values that name objects this run did not read resolve through the store;
        // an object this run read is known by its new DN only. The stored members of the
        // groups read again resolve as each group is added.
        let touched = ids.union(extra)
        for (key, ref) in memberKeys ?? [:] where !touched.contains(ref.id) { builder.addKnown(ref, normalizedDN: key) }
        var ranged: [LDAPEntry] = []
        for entry in groupEntries.values { try reader.addGroup(entry, to: &builder, ranged: &ranged) }
        try await reader.addRangedGroups(ranged, into: &builder, session: session)

        let pending = builder.pendingKeys
        var external: [String: MemberRef] = [:]
        var unknown = Set<String>()
        for key in pending.dns {
            if let ref = memberKeys?[key] { external[key] = ref } else { unknown.insert(key) }
        }
        external.merge(try store.objects(directory: name, dnKeys: unknown)) { kept, _ in kept }
        external = external.filter { !touched.contains($0.value.id) }
        let externalNames = try store.users(directory: name, usernames: pending.names).filter { !touched.contains($0.value) }
        var wanted = builder.finish(external: external, externalNames: externalNames)
        for (id, group) in wanted.groups {
            guard let sid = group.sid else { continue }
            let primary = try store.users(directory: name, primaryGroup: sid).subtracting(touched)
            if !primary.isEmpty { wanted.members[id, default: []].formUnion(primary.map { .user($0) }) }
        }
        wanted.computeDigests()

        mark("resolved")
        // What the store holds: the objects read before, and the groups the changes reached.
        var current = before
        if !extra.isEmpty {
            let reached = try store.partialSnapshot(directory: name, userIDs: [], groupIDs: extra)
            Self.merge(reached, into: &current)
        }
        mark("current")
        try addSurroundings(&wanted, &current)
        mark("surroundings")
        logger.info("read changes", metadata: [
            "directory": "\(name)", "changed": "\(ids.count)", "users": "\(userEntries.count)", "groups": "\(groupEntries.count)",
            "reached groups": "\(extra.count)", "groups loaded": "\(wanted.groups.count)", "timings": "\(timings.joined(separator: ", "))",
        ])
        return .read(wanted: wanted, current: current, reread: userEntries.count + groupEntries.count)
    }

    /// Reads the objects with these ids under a search's base and filter, a few hundred per
    /// search. Ids not found are simply absent (deleted, or out of scope now).
    func fetch(
        _ ids: Set<String>, search: SearchConfig, attributes: [String], session: LDAPSession, counter: inout EntryCounter
    ) async throws -> [String: LDAPEntry] {
        var result: [String: LDAPEntry] = [:]
        let list = ids.sorted()
        for start in stride(from: 0, to: list.count, by: 200) {
            let chunk = list[start..<min(start + 200, list.count)]
            let filter = LDAPFilter.and([.raw(search.filter), .or(chunk.map { SnapshotBuilder.idFilter($0, mapping: mapping) })]).render()
            let narrowed = SearchConfig(base: search.base, scope: search.scope, filter: filter)
            try await reader.each(narrowed, attributes: attributes, phase: "changed objects", in: session, counter: &counter) { entry in
                guard let id = SnapshotBuilder.stableID(of: entry, mapping: mapping), ids.contains(id) else { return }
                result[id] = entry
            }
        }
        return result
    }

    /// Adds, identically to both snapshots, the stored groups the effective-membership report
    /// needs: every group above a group read here (in the old or the new nesting) and every
    /// group below those.
    private func addSurroundings(_ wanted: inout Snapshot, _ current: inout Snapshot) throws {
        let touched = Set(wanted.groups.keys).union(current.groups.keys)
        guard !touched.isEmpty else { return }
        let needed = groupsAround(touched, storedEdges: try store.groupEdges(directory: directory.name), wanted: wanted)
            .subtracting(touched)
        guard !needed.isEmpty else { return }
        let stored = try store.partialSnapshot(directory: directory.name, userIDs: [], groupIDs: needed)
        Self.merge(stored, into: &wanted)
        Self.merge(stored, into: &current)
    }

    private static func merge(_ stored: Snapshot, into snapshot: inout Snapshot) {
        snapshot.groups.merge(stored.groups) { kept, _ in kept }
        snapshot.members.merge(stored.members) { kept, _ in kept }
        snapshot.memberDigests.merge(stored.memberDigests) { kept, _ in kept }
        snapshot.unresolved.merge(stored.unresolved) { kept, _ in kept }
        snapshot.groupMarkers.merge(stored.groupMarkers) { kept, _ in kept }
    }
}
