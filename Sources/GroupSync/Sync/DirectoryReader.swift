import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncCore
import SyncStore

/// Inquire: connects to one directory, runs the user and then the group search (paged,
/// streamed), and maps what arrives into the wanted snapshot. Any error — a lost
/// connection, a size limit, a missing page, a reference it cannot follow — throws, so the
/// run fails and the store keeps what it had.
public struct DirectoryReader: Sendable {
    public let directory: DirectoryConfig
    let logger: Logger
    /// Active Directory answers subtree searches from the domain root with references to
    /// its application partitions; they are logged and skipped there, an error elsewhere.
    var skipsReferences = false
    /// Sizes of the last snapshot, to size the tables up front.
    let expected: (users: Int, groups: Int)

    public init(directory: DirectoryConfig, logger: Logger, expectedUsers: Int = 0, expectedGroups: Int = 0) {
        self.directory = directory
        self.logger = logger
        self.expected = (expectedUsers, expectedGroups)
    }

    public struct Progress: Sendable {
        public var phase: String
        public var entries: Int
        public var elapsed: Duration

        public init(phase: String, entries: Int, elapsed: Duration) {
            self.phase = phase
            self.entries = entries
            self.elapsed = elapsed
        }
    }

    public struct Result: Sendable {
        public var snapshot: Snapshot
        public var flavour: DirectoryFlavour
        public var mapping: AttributeMapping
        /// The change feed's position taken before reading, when asked for and offered:
        /// the next incremental run starts there.
        public var syncState: SyncState?
        /// Every user the store holds, and no other, was read as a header whose marker, DN
        /// and username are the stored ones: no stored user differs from the directory's.
        public var usersAllUnchanged = false
    }

    /// Whether ``read(priorSource:progress:)`` takes the change feed's position first.
    public var capturesSyncState = false
    /// The store a change feed compares with (OpenLDAP's present phase).
    public var stateStore: (any SnapshotStore)?

    /// Where the last snapshot's state comes from: called once, when the reader first needs
    /// it (after the users' headers arrived, so the store is read while the server answers).
    public typealias PriorSource = @Sendable () async throws -> Store.PriorState

    /// Reads the directory. With `prior` (where the last snapshot's state comes from), users
    /// whose change marker did not move are not fetched whole and groups whose marker did not
    /// move are not fetched with their members — see
    /// ``readUsersSkippingUnchanged(_:into:prior:counter:)`` and
    /// ``readGroupsSkippingUnchanged(_:into:prior:counter:)``; without it, everything is read.
    public func read(priorSource prior: PriorSource?, progress: (@Sendable (Progress) -> Void)? = nil) async throws -> Result {
        let session = try await directory.openSession(logger: logger)
        do {
            let result = try await read(session, prior: prior, progress: progress)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }

    private func read(_ session: LDAPSession, prior: PriorSource?, progress: (@Sendable (Progress) -> Void)?) async throws -> Result {
        let root = try await session.rootDSE()
        let flavour = flavour(of: root)
        var reader = DirectoryReader(
            directory: directory.effective(for: flavour), logger: logger, expectedUsers: expected.users, expectedGroups: expected.groups)
        reader.skipsReferences = flavour == .activeDirectory
        var state: SyncState?
        if capturesSyncState, let store = stateStore,
           let feed = ChangeFeeds.feed(for: directory, flavour: flavour, root: root, store: store, logger: logger) {
            do {
                state = try await feed.currentState(session, root: root, fullRunAt: Date())
                state?.scopeDigest = directory.scopeDigest
            } catch let error as LDAPError where ![.serverDown, .timeout, .connectError].contains(error.code) {
                // The full run goes on; the next run is full again.
                logger.warning("could not take the change feed's position; the next run is full too", metadata: [
                    "directory": "\(directory.name)", "error": "\(error)",
                ])
            }
        }
        var result = try await reader.read(session, flavour: flavour, prior: prior, progress: progress)
        result.syncState = state
        return result
    }

    private func read(
        _ session: LDAPSession, flavour: DirectoryFlavour, prior priorSource: PriorSource?, progress: (@Sendable (Progress) -> Void)?
    ) async throws -> Result {
        let mapping = directory.mapping(for: flavour)
        var builder = SnapshotBuilder(mapping: mapping, expectedUsers: expected.users, expectedGroups: expected.groups)
        var counter = EntryCounter(progress: progress)

        var usersSkipped = false
        var usersAllUnchanged = false
        var prior: Store.PriorState?
        if let priorSource {
            if mapping.readsUserHeaders,
               let read = try await readUsersSkippingUnchanged(session, into: &builder, prior: priorSource, counter: &counter) {
                prior = read.prior
                usersAllUnchanged = read.allUnchanged
                usersSkipped = true
            } else {
                prior = try await priorSource()
            }
        }
        if !usersSkipped {
            try await each(directory.users, attributes: mapping.userAttributes, phase: "users", in: session, counter: &counter) {
                try builder.addUser($0)
            }
        }
        var skipped = false
        if let prior, mapping.changeMarker != nil, !prior.groups.isEmpty, Self.usersUnchanged(builder, since: prior) {
            skipped = try await readGroupsSkippingUnchanged(session, into: &builder, prior: prior, counter: &counter)
        }
        if !skipped {
            counter.report("groups")
            var ranged: [LDAPEntry] = []
            var batch = GroupBatch()
            try await each(directory.groups, attributes: mapping.groupAttributes, phase: "groups", in: session, counter: &counter) {
                try addGroup($0, to: &builder, batch: &batch, ranged: &ranged)
            }
            try batch.flush(into: &builder)
            try await addRangedGroups(ranged, into: &builder, session: session)
        }
        counter.report("done")
        logger.info("read directory", metadata: [
            "directory": "\(directory.name)", "users": "\(builder.userCount)", "groups": "\(builder.groupCount)",
            "flavour": "\(flavour)", "unchanged users skipped": "\(usersSkipped)", "unchanged groups skipped": "\(skipped)",
        ])
        var result = Result(snapshot: builder.finish(), flavour: flavour, mapping: mapping)
        result.usersAllUnchanged = usersAllUnchanged
        return result
    }

    /// Runs one search and hands each entry to `body`; a continuation reference fails the run.
    func each(
        _ search: SearchConfig, attributes: [String], phase: String, in session: LDAPSession, counter: inout EntryCounter,
        _ body: (LDAPEntry) throws -> Void
    ) async throws {
        let request = LDAPSearchRequest(
            base: search.base, scope: search.scope, filter: search.filter, attributes: attributes, pageSize: directory.pageSize)
        do {
            try await each(request, search: search, phase: phase, in: session, counter: &counter, body)
        } catch let error as LDAPError where error.code == .noSuchObject {
            throw InquireError(
                directory: directory.name,
                message: "the \(phase) search base \(search.base) (\(phase).base) does not exist on the server: \(error). "
                    + "It may have been renamed, moved or deleted, or the bind account may no longer be allowed to see it; nothing was applied")
        }
    }

    private func each(
        _ request: LDAPSearchRequest, search: SearchConfig, phase: String, in session: LDAPSession, counter: inout EntryCounter,
        _ body: (LDAPEntry) throws -> Void
    ) async throws {
        for try await event in session.search(request) {
            switch event {
            case .entry(let entry):
                try body(entry)
                counter.count(phase)
                // A daemon shutting down cancels the run: stop reading (nothing is applied).
                if counter.entries % 1000 == 0 { try Task.checkCancellation() }
            case .reference(let urls) where skipsReferences:
                logger.debug("continuation reference skipped", metadata: ["phase": "\(phase)", "urls": "\(urls)"])
            case .reference(let urls):
                throw InquireError(
                    directory: directory.name,
                    message: "the \(phase) search under \(search.base) returned a continuation reference to \(urls.joined(separator: ", ")); "
                        + "groupsync does not follow referrals, so the result would be incomplete. Narrow the search base or point the URL at the server that holds that part of the tree")
            case .intermediate, .done:
                break
            }
        }
    }

    /// The flavour in force: the configured one, or the server's when `auto`.
    func flavour(of root: RootDSE) -> DirectoryFlavour {
        let detected = root.flavour
        switch directory.flavour {
        case .openldap: return .openLDAP
        case .activedirectory: return .activeDirectory
        case .auto: return detected
        }
    }
}

/// Counts entries read and reports progress every thousand.
struct EntryCounter {
    let progress: (@Sendable (DirectoryReader.Progress) -> Void)?
    let started = ContinuousClock.now
    var entries = 0

    mutating func count(_ phase: String) {
        entries += 1
        if entries % 1000 == 0 { report(phase) }
    }

    func report(_ phase: String) {
        progress?(DirectoryReader.Progress(phase: phase, entries: entries, elapsed: ContinuousClock.now - started))
    }
}

/// Ends a header pass (users' or groups') at its first entry, which has no change marker:
/// the entries are then read whole.
struct FirstEntryHasNoMarker: Error {}

/// A reason to fail a run found while reading the directory.
public struct InquireError: Error, Sendable, CustomStringConvertible {
    public var directory: String
    public var message: String

    public var description: String { "directory \(directory): \(message)" }
}
