import Foundation
import SyncCore
import Verification

/// What groupsync keeps per directory — the last snapshot, the runs with their changes,
/// landing reports, configuration versions, incremental sync state — as the sync, the
/// verification commands and the daemon use it. Two stores answer it alike: ``Store``
/// (SQLite, the default) and the PostgreSQL store (`store: {postgres: …}`).
///
/// Calls are synchronous: each blocks its thread until the store has answered (SQLite
/// reads the file; the PostgreSQL store waits on its connection).
public protocol SnapshotStore: AnyObject, Sendable {
    /// What messages call the store: the SQLite file's path or `postgres://user@host:port/db`.
    var location: String { get }
    /// Takes the run lock for a sync of `directories`, whichever process runs it: on SQLite
    /// one lock for the whole store (one sync at a time); on PostgreSQL one per directory,
    /// so daemons that own different directories of a shared store sync them side by side.
    func runLock(directories: [String]) throws(StoreLockError) -> any StoreRunLock

    // Snapshot
    func snapshot(directory: String, reusingMembersOf wanted: Snapshot?) throws(StoreError) -> Snapshot
    func header(directory: String, usersByDigest: Bool, resolutionDigests: Bool) throws(StoreError) -> Snapshot
    func loadUsers(_ snapshot: inout Snapshot, directory: String, differingFrom wanted: Snapshot) throws(StoreError)
    func completeMembers(_ snapshot: inout Snapshot, directory: String, reusingMembersOf wanted: Snapshot?) throws(StoreError)
    func totals(directory: String) throws(StoreError) -> RunRecord.Totals
    /// Writes the plan and the run in one transaction. The run's `finishedAt` becomes the time
    /// the plan was written, so its duration includes the apply.
    func apply(_ plan: Plan, run: RunRecord, syncState: SyncState?) throws(StoreError) -> RunRecord
    func members(directory: String, groupIDs: Set<String>, keys: inout [String: MemberRef]?) throws(StoreError) -> [String: Set<MemberRef>]
    func groupEdges(directory: String) throws(StoreError) -> [String: Set<String>]
    func effectiveGroups(directory: String, userID: String) throws(StoreError) -> Set<String>

    // Incremental lookups
    func kinds(directory: String, ids: Set<String>) throws(StoreError) -> [String: MemberRef.Kind]
    func partialSnapshot(directory: String, userIDs: Set<String>, groupIDs: Set<String>, memberKeys: inout [String: MemberRef]?) throws(StoreError) -> Snapshot
    func groupsContaining(directory: String, members: Set<MemberRef>) throws(StoreError) -> Set<String>
    func unresolvedValues(directory: String) throws(StoreError) -> [String: Set<String>]
    func objects(directory: String, dnKeys: Set<String>) throws(StoreError) -> [String: MemberRef]
    func users(directory: String, usernames: Set<String>) throws(StoreError) -> [String: String]
    func users(directory: String, primaryGroup sid: String) throws(StoreError) -> Set<String>
    func groups(directory: String, sids: Set<String>) throws(StoreError) -> [String: String]
    func allIDs(directory: String) throws(StoreError) -> Set<String>
    /// Member-level deltas (``StoredGroupMembers``); nil where a store does not offer them,
    /// and the incremental run then compares whole member sets. Both stores offer them.
    /// `withMembers: false` leaves `byKeyHash` empty: the groups' state only (a run that
    /// took the member values that changed from OpenLDAP's access log).
    func storedMembers(directory: String, groupIDs: Set<String>, withMembers: Bool) throws(StoreError) -> [String: StoredGroupMembers]?
    func memberIDs(directory: String, stored: Set<StoredMember>) throws(StoreError) -> [StoredMember: MemberRef]
    func directGroups(directory: String, userIDs: Set<String>) throws(StoreError) -> [String: Set<String>]
    /// Which of these (group id, user id) pairs are stored direct memberships: one lookup
    /// per pair, where ``directGroups(directory:userIDs:)`` reads every group of each user.
    func userMemberships(directory: String, pairs: Set<Membership>) throws(StoreError) -> Set<Membership>
    func groups(directory: String, ids: Set<String>) throws(StoreError) -> [String: DirectoryGroup]

    // Runs
    func beginRun(_ run: RunRecord) throws(StoreError) -> RunRecord
    /// Housekeeping after a run, off its path (SQLite: a WAL checkpoint; nothing on PostgreSQL).
    func checkpoint() throws(StoreError)
    /// Closes the store for a process that is about to exit without tearing down what it
    /// holds (SQLite: the write-ahead log goes back into the database file; PostgreSQL: the
    /// connection ends). Later calls fail.
    func close() throws(StoreError)
    /// `markers` and `userMarkers`: groups' and users' change markers to remember.
    func record(
        _ run: RunRecord, changes: [PlannedChange], markers: [String: String], userMarkers: [String: UInt64], syncState: SyncState?
    ) throws(StoreError) -> RunRecord
    /// Marks the runs of `directories` left `running` by a process that ended mid-run as
    /// failed. Call only while holding their run lock (none of them can be in progress then).
    @discardableResult
    func markInterruptedRuns(directories: [String]) throws(StoreError) -> Int
    func runs(directory: String?, limit: Int) throws(StoreError) -> [RunRecord]
    func run(id: Int64) throws(StoreError) -> RunRecord?
    func changes(runID: Int64, limit: Int?) throws(StoreError) -> [PlannedChange]
    func lastSuccessfulRun(directory: String) throws(StoreError) -> RunRecord?
    func lastDecisiveRun(directory: String) throws(StoreError) -> RunRecord?

    // Sync state, configurations, landings
    func syncState(directory: String) throws(StoreError) -> SyncState?
    func saveSyncState(_ state: SyncState, directory: String) throws(StoreError)
    func clearSyncState(directory: String) throws(StoreError)
    func saveConfig(file: String, text: String) throws(StoreError) -> String
    func config(digest: String) throws(StoreError) -> (file: String, text: String)?
    func saveLandings(_ rows: [PolicyAudit.Landing], runID: Int64) throws(StoreError)
    func latestLandings() throws(StoreError) -> [(run: RunRecord, rows: [PolicyAudit.Landing])]

    // Verification
    func withAnyCatalog<T>(_ body: (any Catalog) throws -> T) throws(StoreError) -> T
    func loadIndex() throws(StoreError) -> SnapshotIndex

    // Checks
    func probeWritable() throws(StoreError)
    func integrityProblems() throws(StoreError) -> [String]
}

/// The run lock a store hands out: held until released or the process ends.
public protocol StoreRunLock: AnyObject, Sendable {}

extension StoreLock: StoreRunLock {}

/// The defaults the stores' own methods have.
extension SnapshotStore {
    public func snapshot(directory: String) throws(StoreError) -> Snapshot { try snapshot(directory: directory, reusingMembersOf: nil) }
    public func header(directory: String) throws(StoreError) -> Snapshot {
        try header(directory: directory, usersByDigest: false, resolutionDigests: true)
    }
    public func completeMembers(_ snapshot: inout Snapshot, directory: String) throws(StoreError) {
        try completeMembers(&snapshot, directory: directory, reusingMembersOf: nil)
    }
    @discardableResult
    public func apply(_ plan: Plan, run: RunRecord) throws(StoreError) -> RunRecord { try apply(plan, run: run, syncState: nil) }
    public func storedMembers(directory: String, groupIDs: Set<String>, withMembers: Bool) throws(StoreError) -> [String: StoredGroupMembers]? { nil }
    public func storedMembers(directory: String, groupIDs: Set<String>) throws(StoreError) -> [String: StoredGroupMembers]? {
        try storedMembers(directory: directory, groupIDs: groupIDs, withMembers: true)
    }
    public func checkpoint() throws(StoreError) {}
    public func memberIDs(directory: String, stored: Set<StoredMember>) throws(StoreError) -> [StoredMember: MemberRef] { [:] }
    public func directGroups(directory: String, userIDs: Set<String>) throws(StoreError) -> [String: Set<String>] { [:] }
    public func groups(directory: String, ids: Set<String>) throws(StoreError) -> [String: DirectoryGroup] { [:] }
    public func members(directory: String, groupIDs: Set<String>) throws(StoreError) -> [String: Set<MemberRef>] {
        var keys: [String: MemberRef]?
        return try members(directory: directory, groupIDs: groupIDs, keys: &keys)
    }
    public func partialSnapshot(directory: String, userIDs: Set<String>, groupIDs: Set<String>) throws(StoreError) -> Snapshot {
        var keys: [String: MemberRef]?
        return try partialSnapshot(directory: directory, userIDs: userIDs, groupIDs: groupIDs, memberKeys: &keys)
    }
    @discardableResult
    public func record(_ run: RunRecord, changes: [PlannedChange] = [], markers: [String: String] = [:]) throws(StoreError) -> RunRecord {
        try record(run, changes: changes, markers: markers, userMarkers: [:], syncState: nil)
    }
    public func runs(directory: String? = nil) throws(StoreError) -> [RunRecord] { try runs(directory: directory, limit: 20) }
    public func runs(limit: Int) throws(StoreError) -> [RunRecord] { try runs(directory: nil, limit: limit) }
    public func changes(runID: Int64) throws(StoreError) -> [PlannedChange] { try changes(runID: runID, limit: nil) }
}

extension Store: SnapshotStore {
    public var location: String { path }

    /// One flock for the whole file: a single process syncs an SQLite store at a time.
    public func runLock(directories: [String]) throws(StoreLockError) -> any StoreRunLock { try StoreLock(storePath: path) }

    public func withAnyCatalog<T>(_ body: (any Catalog) throws -> T) throws(StoreError) -> T {
        try withCatalog { try body($0) }
    }

    public func loadIndex() throws(StoreError) -> SnapshotIndex { try SnapshotIndex.load(from: self) }
}
