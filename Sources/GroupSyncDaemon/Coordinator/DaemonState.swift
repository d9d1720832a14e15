import Foundation
import GroupSync
import Logging
import PostgresStore
import SyncConfig
import SyncCore
import SyncStore
import Verification

/// What the daemon's services share: the configuration in force (replaced on SIGHUP), the
/// store, and the verification service of the current snapshot (made again after a run
/// or a reload).
public actor DaemonState {
    public private(set) var config: GroupSyncConfig
    public let store: any SnapshotStore
    public let logger: Logger
    /// With a PostgreSQL store, which directories this daemon syncs; nil with SQLite (one
    /// daemon, every directory).
    public nonisolated let ownership: DirectoryOwnership?
    private var verification: VerificationService? {
        didSet { indexed.set(verification) }
    }
    /// The index-backed service in force, for the event loops' fast path.
    public nonisolated let indexed = IndexedAnswers()
    /// Bumped on every reload; the scheduler re-reads schedules when it moves.
    public private(set) var generation = 0
    private var reloadWaiters: [UUID: CheckedContinuation<Void, Never>] = [:]

    /// `indexQuiet`: how long the store must go unchanged after a run before the in-memory
    /// index is rebuilt (answers come from the store meanwhile).
    /// `metrics`: where index updates are counted (``DaemonMetrics/indexUpdated(_:)``).
    public init(
        config: GroupSyncConfig, store: any SnapshotStore, logger: Logger, indexQuiet: Duration = .seconds(2), metrics: DaemonMetrics? = nil
    ) {
        self.metrics = metrics
        self.config = config
        self.store = store
        self.logger = logger
        self.indexQuiet = indexQuiet
        ownership = (store as? PostgresStore).map { DirectoryOwnership(store: $0, name: config.server.name, lease: config.server.lease) }
    }

    private var indexGeneration = 0
    private let metrics: DaemonMetrics?

    /// The verification service for the snapshot as it is now: from the in-memory index
    /// once it is built, from the store until then (never stale, never blocking).
    public func verificationService() throws(VerifyError) -> VerificationService {
        if let verification { return verification }
        refresh()
        if let verification { return verification }
        return try VerificationService(config: config, store: store, logger: logger)
    }

    /// A run changed the store: answer from the store at once, then from an index that
    /// holds the change. When the index in force holds every earlier run, the run's `plan`
    /// is written into a copy of it (``SnapshotIndex/applying(_:directory:addedUsers:)``:
    /// milliseconds for a watch batch or an incremental run) and that copy answers as soon
    /// as it is installed. When it cannot be (a run of more than 10,000 users and groups
    /// added or removed or 100,000 memberships, or no index yet), a new index is read from
    /// the store once the store has been quiet for ``indexQuiet`` (built on a thread of its
    /// own: a large directory takes a second or two of CPU; in watch mode batches come every
    /// second or so, and an index rebuilt after each would be superseded before it was used
    /// and take a core from the batches and the answers).
    public func snapshotChanged(by plan: Plan? = nil, directory: String? = nil) {
        verification = try? VerificationService(config: config, store: store, logger: logger)
        if let plan, let directory, let current = currentIndex, let added = addedUsers(plan, directory: directory),
           let patched = current.applying(plan, directory: directory, addedUsers: added) {
            currentIndex = patched
            patchedIndexes += 1
            metrics?.indexUpdated("patch")
            rebuild(reusing: patched)
            return
        }
        currentIndex = nil
        indexGeneration += 1
        let generation = indexGeneration
        let quiet = indexQuiet
        Task {
            try? await Task.sleep(for: quiet)
            self.rebuildIfStill(generation)
        }
    }

    /// The users `plan` added, as the store holds them now that the run has committed (with
    /// their store refs); nil when there are too many to patch or the store cannot say.
    private func addedUsers(_ plan: Plan, directory: String) -> [UserInfo]? {
        let keys = SnapshotIndex.usersToRead(for: plan, directory: directory)
        guard !keys.isEmpty else { return [] }
        guard keys.count <= SnapshotIndex.objectPatchLimit else { return nil }
        return try? store.withAnyCatalog { try $0.users(keys: keys) }
    }

    /// The index that holds every run applied so far (installed, or being installed), when
    /// there is one: what the next run's plan is written into. Nil after a run that could
    /// not be written into it, until an index read from the store is installed.
    private var currentIndex: SnapshotIndex?

    /// How many runs were written into the index instead of rebuilding it (for tests).
    public private(set) var patchedIndexes = 0

    private let indexQuiet: Duration

    private func rebuildIfStill(_ generation: Int) {
        guard generation == indexGeneration else { return }
        rebuild(reusing: nil)
    }

    /// A run found nothing to change: the snapshot is the same, so the index stays and only
    /// what answers say about the last run is renewed (off this actor; until then the
    /// answers, identical but for that, keep coming from the index).
    public func snapshotConfirmed() {
        guard let index = currentIndex ?? verification?.index else { return refresh() }
        rebuild(reusing: index)
    }

    /// At start-up: begins building the index, so the first questions after a start are
    /// answered from memory as soon as it is ready (from the store until then). Not for a
    /// store without a synced snapshot: there is nothing to answer from, and an empty index
    /// built now could still answer for a moment after the first run had committed (until
    /// that run's `snapshotChanged`), where the first question would have read the store.
    public func prepareAnswers() {
        guard verification == nil,
              config.directories.contains(where: { ((try? store.lastSuccessfulRun(directory: $0.name)) ?? nil) != nil })
        else { return }
        refresh()
    }

    private func refresh() {
        verification = try? VerificationService(config: config, store: store, logger: logger)
        rebuild(reusing: nil)
    }

    /// Makes the index-backed service on a thread of its own — with `index`, or a new one
    /// loaded from the store — and installs it unless a later rebuild started meanwhile.
    private func rebuild(reusing index: SnapshotIndex?) {
        indexGeneration += 1
        let generation = indexGeneration
        let (config, store, logger, metrics) = (self.config, self.store, self.logger, self.metrics)
        Thread {
            do {
                let built: SnapshotIndex
                if let index {
                    built = index
                } else {
                    built = try store.loadIndex()
                    metrics?.indexUpdated("rebuild")
                }
                let service = try VerificationService(config: config, store: store, index: built, logger: logger)
                Task { await self.install(service, generation: generation, loaded: index == nil) }
            } catch {
                logger.error("cannot build the verification index; answering from the store", metadata: ["error": "\(error)"])
            }
        }.start()
    }

    /// `loaded`: the index was read from the store; reading it, and the index it replaces,
    /// freed as much as it holds, which is handed back to the kernel (``HeapTrim``).
    private func install(_ service: VerificationService, generation: Int, loaded: Bool) {
        guard generation == indexGeneration else { return }
        verification = service
        currentIndex = service.index
        if loaded {
            let (logger, metrics) = (self.logger, self.metrics)
            // Off Swift's pool: a trim holds each malloc arena for milliseconds.
            Task(executorPreference: RunExecutor.background) { HeapTrim.trim(after: .indexRebuild, logger: logger, metrics: metrics) }
        }
    }

    /// Whether answers come from the in-memory index yet (for tests and the benchmark).
    public var answersFromIndex: Bool { verification?.usesIndex ?? false }

    /// Reads the configuration file again. An invalid file is logged and the configuration
    /// in force stays; the store and the server addresses need a restart to change.
    @discardableResult
    public func reload() -> Bool {
        do {
            let fresh = try ConfigLoader.load(path: config.file)
            if fresh.store != config.store || fresh.server != config.server {
                logger.warning("store and server changes take effect at the next start of groupsync serve")
            }
            config = fresh
            generation += 1
            refresh()
            logger.info("configuration reloaded", metadata: ["file": "\(config.file)", "directories": "\(config.directories.count)"])
            let waiters = reloadWaiters.values
            reloadWaiters = [:]
            for waiter in waiters { waiter.resume() }
            return true
        } catch {
            logger.error("configuration reload failed; the previous configuration stays in force", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Returns after the next successful reload, or when the calling task is cancelled.
    public func waitForReload() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { continuation.resume() } else { reloadWaiters[id] = continuation }
            }
        } onCancel: {
            Task { await self.stopWaiting(id) }
        }
    }

    private func stopWaiting(_ id: UUID) {
        reloadWaiters.removeValue(forKey: id)?.resume()
    }
}
