import Foundation
import LDAPClient
import SyncCore
import SyncStore

extension IncrementalReader {
    /// The member-value run (``readMemberDeltas(_:changed:)``) with the values taken from
    /// OpenLDAP's access log (`incremental.access_log`) instead of reading each changed group
    /// whole and comparing it with its stored members: the cost follows the values that
    /// changed, not the size of the groups they changed in.
    ///
    /// Content synchronization still says *which* objects changed between the stored cookie
    /// and the new one; the log's write records between the two CSNs say *how*. Used only
    /// when the log reaches back to the stored position (it holds a record at or before it:
    /// the overlay purges oldest first, so nothing after it is gone), every changed object is
    /// a stored group, and each of its records adds or deletes single member values that name
    /// users in the store. Nil otherwise, with the reason logged, and the run reads the
    /// groups as before; an access log that cannot be read is a warning, never a failed run.
    func readAccessLogDeltas(
        _ session: LDAPSession, changed ids: Set<String>, log: String, since old: [UInt8], until new: [UInt8]
    ) async throws -> MemberDelta? {
        let name = directory.name
        func skip(_ reason: String) -> MemberDelta? {
            logger.debug("access log not used", metadata: ["directory": "\(name)", "because": "\(reason)"])
            return nil
        }
        guard !ids.isEmpty, mapping.sid == nil else { return skip("no changes, or Active Directory mapping") }
        let filter = directory.groups.filter.lowercased()
        if let attribute = (mapping.member + mapping.memberUID).first(where: { filter.contains("(" + $0.lowercased()) }) {
            // A member change can move a group in or out of such a scope.
            return skip("the groups' filter tests \(attribute)")
        }
        let from = ContentSyncCookie.csns(old), to = ContentSyncCookie.csns(new)
        guard from.count == 1, to.count == 1, let from = from.first, let to = to.first else {
            return skip("the cookies carry no single CSN (several providers)")
        }
        let clock = ContinuousClock()
        let started = clock.now
        let kinds = try store.kinds(directory: name, ids: ids)
        guard kinds.count == ids.count, kinds.values.allSatisfy({ $0 == .group }) else { return skip("the changes include users or new groups") }
        guard let stored = try store.storedMembers(directory: name, groupIDs: ids, withMembers: false), stored.count == ids.count else {
            return skip("the store offers no member-level reads")
        }
        guard stored.values.allSatisfy({ !$0.hasUnresolved && $0.digest != nil }) else {
            return skip("a changed group has unresolved member values or no member digest")
        }
        let storedRead = clock.now

        let records: [AccessLogRecord]
        do {
            guard try await logReaches(back: from, log: log, session: session) else {
                return skip("the access log holds nothing at or before the last run's position \(from): records after it may have been purged")
            }
            records = try await logRecords(after: from, upTo: to, log: log, session: session)
        } catch let error as LDAPError where [.serverDown, .timeout, .connectError].contains(error.code) {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // Refused, missing, size-limited or unreadable: the groups are read as before.
            logger.warning("the access log could not be read; changed groups are read whole", metadata: [
                "directory": "\(name)", "access_log": "\(log)", "error": "\(error)",
            ])
            return nil
        }
        let logRead = clock.now
        let changes: AccessLogMemberChanges
        switch AccessLogMemberChanges.replay(records, groups: ids, memberAttributes: mapping.member, marker: mapping.changeMarker) {
        case .success(let replayed): changes = replayed
        case .failure(let unusable): return skip(unusable.reason)
        }

        // Each value must name a user in the store; what the store holds decides whether a
        // value's last state is a change (a record replayed twice changes nothing twice).
        let keys = Set(changes.values.values.flatMap(\.keys))
        let resolved = try store.objects(directory: name, dnKeys: keys)
        var users = Set<String>()
        for key in keys {
            guard let ref = resolved[key], ref.kind == .user else { return skip("a member value names a group or nothing in scope: \(key)") }
            users.insert(ref.id)
        }
        // Whether each value's user is a member now. A user with a value in a group that is
        // in another or holds one needs all their direct groups (their effective change
        // depends on them); for the rest (most: nesting is rare) the pairs themselves do.
        let edges = try store.groupEdges(directory: name)
        var nested = Set<String>()
        for (parent, children) in edges where !children.isEmpty {
            nested.insert(parent)
            nested.formUnion(children)
        }
        var wholeUsers = Set<String>(), pairs = Set<Membership>()
        for (group, values) in changes.values {
            for key in values.keys {
                guard let ref = resolved[key] else { continue }
                if nested.contains(group) { wholeUsers.insert(ref.id) } else { pairs.insert(Membership(groupID: group, member: ref)) }
            }
        }
        var direct = try store.directGroups(directory: name, userIDs: wholeUsers)
        pairs = pairs.filter { !wholeUsers.contains($0.member.id) }
        for membership in try store.userMemberships(directory: name, pairs: pairs) {
            direct[membership.member.id, default: []].insert(membership.groupID)
        }
        var wanted = Snapshot(), current = Snapshot()
        let builder = SnapshotBuilder(mapping: mapping)
        var added = 0, removed = 0
        for (group, values) in changes.values {
            guard let old = stored[group] else { return skip("a changed group is not stored") }
            wanted.groups[group] = old.group
            current.groups[group] = old.group
            current.groupMarkers[group] = old.marker
            if let marker = changes.markers[group] { wanted.groupMarkers[group] = marker + builder.markerSuffix }
            for (key, present) in values {
                guard let ref = resolved[key] else { continue }
                switch (present, direct[ref.id]?.contains(group) ?? false) {
                case (true, false):
                    wanted.members[group, default: []].insert(ref)
                    added += 1
                case (false, true):
                    current.members[group, default: []].insert(ref)
                    removed += 1
                default: break
                }
            }
        }
        let compared = clock.now
        // Partial direct groups are enough for EffectiveDelta: a user's other groups decide
        // nothing for a group in no other and holding none.
        let effective = try completeMemberDelta(
            digests: stored.compactMapValues(\.digest), wanted: &wanted, current: &current, directGroups: direct, edges: edges)
        logger.info("read member changes from the access log", metadata: [
            "directory": "\(name)", "groups": "\(ids.count)", "records": "\(records.count)", "values added": "\(added)",
            "values removed": "\(removed)",
            "timings": .string(
                "stored \(storedRead - started), log \(logRead - storedRead), resolved \(compared - logRead), effective \(clock.now - compared)"),
        ])
        return MemberDelta(
            wanted: wanted, current: current, effective: effective,
            note: "member changes from the access log \(log) (\(records.count) write record\(records.count == 1 ? "" : "s"))")
    }

    /// Whether the log still holds a write at or before `csn`.
    private func logReaches(back csn: String, log: String, session: LDAPSession) async throws -> Bool {
        let request = LDAPSearchRequest(
            base: log, scope: .one, filter: "(&(objectClass=auditWriteObject)(entryCSN<=\(LDAPFilter.escape(csn))))", attributes: ["1.1"],
            pageSize: nil, sizeLimit: 1)
        var found = false
        do {
            for try await event in session.search(request) {
                if case .entry = event { found = true }
            }
        } catch let error as LDAPError where error.code == .sizeLimitExceeded {
            // More than the one asked for (the entry may come with the result, unseen): it reaches back.
            found = true
        }
        return found
    }

    /// The successful writes after `from` up to and including `to` to entries under the
    /// groups' base. A stored group's first write after `from` names it by its stored DN (in
    /// scope), so a group that moved out and back in is still seen to have moved.
    private func logRecords(after from: String, upTo to: String, log: String, session: LDAPSession) async throws -> [AccessLogRecord] {
        let filter = "(&(objectClass=auditWriteObject)(reqResult=0)(entryCSN>=\(LDAPFilter.escape(from)))(entryCSN<=\(LDAPFilter.escape(to)))"
            + "(reqDN:dnSubtreeMatch:=\(LDAPFilter.escape(directory.groups.base))))"
        let request = LDAPSearchRequest(
            base: log, scope: .one, filter: filter, attributes: AccessLogRecord.attributes, pageSize: directory.pageSize)
        var records: [AccessLogRecord] = []
        for try await event in session.search(request) {
            guard case .entry(let entry) = event, let record = AccessLogRecord(entry: entry), record.csn != from else { continue }
            records.append(record)
        }
        return records
    }
}
