import Foundation
import LDAPClient
import SyncConfig
import SyncCore
import SyncStore

extension SyncRunner {
    /// What an incremental run read: narrow snapshots and the feed's next position.
    struct IncrementalRead {
        var wanted: Snapshot
        var current: Snapshot
        var state: SyncState
        /// Set when the snapshots hold only the members that changed (``MemberDelta``).
        var effective: EffectiveDelta?
        /// Where the changes came from when it is worth saying (the access log).
        var note: String?
    }

    /// What an incremental attempt came to: the changes, or the reason the run is full.
    enum IncrementalDecision {
        case incremental(IncrementalRead)
        case full(String?)
    }

    /// Reads only what changed since the stored sync state, or says why this run must be full: no state yet, a full run is due (`full_every`),
    /// another server answers, the flavour offers no change feed, the server refused the
    /// cookie, or a container moved. Errors reaching the directory throw, as in a full run.
    func readIncrementally(_ directory: DirectoryConfig, now: Date = Date()) async throws -> IncrementalDecision {
        func full(_ reason: String) -> IncrementalDecision {
            logger.info("full run", metadata: ["directory": "\(directory.name)", "reason": "\(reason)"])
            return .full(reason)
        }
        guard directory.incremental.method != .off else { return .full(nil) }
        guard let state = try store.syncState(directory: directory.name) else {
            logger.info("full run", metadata: ["directory": "\(directory.name)", "reason": "no feed position yet"])
            return .full(nil)
        }
        guard state.scopeDigest == directory.scopeDigest else {
            return full("the configuration of what runs read (bases, scopes, filters, attributes) changed since the last full run")
        }
        // While the last run failed or stopped, changes from the feed are not trusted on their
        // own: a few removals per batch would pass the limits that stopped the whole set.
        if let last = try store.lastDecisiveRun(directory: directory.name), let id = last.id,
            [.failed, .stoppedByLimit].contains(last.outcome)
        {
            let what = last.outcome == .failed ? "failed" : "was stopped by the safety limits"
            return full("the last run (#\(id)) \(what); removals are held until a run that reads the whole directory applies")
        }
        let age = now.timeIntervalSince(state.fullRunAt)
        let fullEvery = Double(directory.incremental.fullEvery.components.seconds)
        if age >= fullEvery { return full("the last full run is older than full_every (\(directory.incremental.fullEvery))") }

        let session = try await directory.openSession(logger: logger)
        do {
            let result = try await readIncrementally(directory, state: state, session: session, full: full)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }

    private func readIncrementally(
        _ directory: DirectoryConfig, state: SyncState, session: LDAPSession, full: (String) -> IncrementalDecision
    ) async throws -> IncrementalDecision {
        let root = try await session.rootDSE()
        let base = DirectoryReader(directory: directory, logger: logger)
        let flavour = base.flavour(of: root)
        guard let feed = ChangeFeeds.feed(for: directory, flavour: flavour, root: root, store: store, logger: logger) else {
            return full("this server offers no change feed groupsync can use")
        }
        guard state.server == root.dsServiceName else {
            return full("the sync state belongs to \(state.server ?? "another server"), but \(root.dsServiceName ?? "an unnamed server") answers")
        }
        let effective = directory.effective(for: flavour)
        let mapping = directory.mapping(for: flavour)
        let changes: FeedChanges
        let asked = ContinuousClock.now
        do {
            changes = try await feed.changes(session, root: root, since: state)
            logger.info("change feed read", metadata: [
                "directory": "\(directory.name)", "method": "\(state.method)", "ids": "\(changes.ids.count)", "took": "\(ContinuousClock.now - asked)",
            ])
        } catch let error as LDAPError where ![.serverDown, .timeout, .connectError].contains(error.code) {
            return full("the server refused the stored \(state.method) cookie: \(error)")
        } catch let error as CookieRejected {
            return full(error.reason)
        } catch let error as BERError {
            return full("the server's \(state.method) response could not be read: \(error)")
        }
        if let container = changes.containers.first(where: { feed.matters($0, state: state) }) {
            return full("the container \(container.dn) changed (created, renamed or moved); DNs below it may have changed")
        }
        var reader = DirectoryReader(directory: effective, logger: logger)
        reader.skipsReferences = flavour == .activeDirectory
        let incremental = IncrementalReader(reader: reader, mapping: mapping, store: store, logger: logger)
        if usesMemberDeltas, let log = directory.incremental.accessLog, state.method == "syncrepl",
           let delta = try await incremental.readAccessLogDeltas(
               session, changed: changes.ids, log: log, since: state.cookie, until: changes.state.cookie) {
            return .incremental(IncrementalRead(
                wanted: delta.wanted, current: delta.current, state: changes.state, effective: delta.effective, note: delta.note))
        }
        if usesMemberDeltas, let delta = try await incremental.readMemberDeltas(session, changed: changes.ids) {
            return .incremental(IncrementalRead(wanted: delta.wanted, current: delta.current, state: changes.state, effective: delta.effective))
        }
        switch try await incremental.read(session, changed: changes.ids) {
        case .needsFull(let reason):
            return full(reason)
        case .read(let wanted, let current, _):
            return .incremental(IncrementalRead(wanted: wanted, current: current, state: changes.state))
        }
    }

    /// Plans a narrow pair, reading from the store the users its membership changes name so
    /// the report can say who they are (they are the same in both snapshots: no diff).
    func planIncremental(_ read: inout IncrementalRead, directory: String) throws(StoreError) -> Plan {
        // Planned without descriptions first: they need the names of the users it touches.
        var plan = Planner.plan(wanted: read.wanted, current: read.current, describeLimit: 0, partial: true, effective: read.effective)
        try nameUsers(of: plan, wanted: &read.wanted, current: &read.current, directory: directory)
        Planner.describe(&plan, wanted: read.wanted, current: read.current)
        return plan
    }

    /// Reads from the store the users that a plan's membership changes name but neither
    /// snapshot holds (unchanged users of partial snapshots), up to the describe limit, into
    /// both snapshots: they are the same in both, so the plan does not change.
    func nameUsers(of plan: Plan, wanted: inout Snapshot, current: inout Snapshot, directory: String) throws(StoreError) {
        var unnamed = Set<String>()
        func note(_ id: String) {
            if unnamed.count < Planner.defaultDescribeLimit, wanted.users[id] == nil, current.users[id] == nil { unnamed.insert(id) }
        }
        for membership in plan.membershipsAdded + plan.membershipsRemoved where membership.member.kind == .user { note(membership.member.id) }
        for (_, members) in plan.newGroupMembers { for member in members where member.kind == .user { note(member.id) } }
        for change in plan.effectiveGained + plan.effectiveLost { note(change.userID) }
        guard !unnamed.isEmpty else { return }
        let named = try store.partialSnapshot(directory: directory, userIDs: unnamed, groupIDs: [])
        for (id, user) in named.users {
            wanted.users[id] = user
            current.users[id] = user
        }
    }
}
