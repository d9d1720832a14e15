import Foundation
import GroupSync
import Logging
import PostgresStore
import ServiceLifecycle
import SyncStore

/// Keeps this daemon's leases on the directories it can take (PostgreSQL store): renews
/// them every third of `server.lease`, takes over directories whose owner stopped renewing,
/// and serves the manual syncs other daemons hand over for the directories it owns. On a
/// clean shutdown it releases its leases so another daemon takes over at once.
struct LeaseService: Service {
    let ownership: DirectoryOwnership
    let state: DaemonState
    let coordinator: RunCoordinator

    func run() async throws {
        // The blocking database calls run on a thread of their own, never behind a sync.
        await withTaskExecutorPreference(RunExecutor.coordination) {
            await cancelWhenGracefulShutdown { await loop() }
        }
    }

    private func loop() async {
        let logger = state.logger
        let me = ownership.name
        var session: PostgresSession?
        var nextRenewal = ContinuousClock.now
        let renewEvery = ownership.lease / 3
        while !Task.isCancelled {
            do {
                let connected = try session ?? ownership.store.coordinationSession()
                session = connected
                let leases = DirectoryLeases(session: connected)
                let requests = SyncRequests(session: connected)
                if ContinuousClock.now >= nextRenewal {
                    nextRenewal = ContinuousClock.now + renewEvery
                    let before = ownership.ownedDirectories
                    let firstRound = !ownership.hasSettled
                    let config = await state.config
                    var held: [String: DirectoryLease] = [:]
                    for directory in config.directories.map(\.name) {
                        if let lease = try leases.acquire(directory, owner: me, for: ownership.lease) { held[directory] = lease }
                    }
                    ownership.setHeld(held)
                    let owned = Set(held.keys)
                    for directory in owned.subtracting(before) {
                        logger.info("this daemon now syncs the directory", metadata: ["directory": "\(directory)", "daemon": "\(me)"])
                        // Taken over from a daemon that stopped: in watch mode its last batch may
                        // have died with it (this daemon's watcher saw the change but left the run
                        // to the owner), so catch up now rather than at the next change.
                        if !firstRound, config.directory(named: directory)?.schedule?.watch == true {
                            Task { _ = try? await coordinator.sync(SyncRequest(directories: [directory], trigger: .watch)) }
                        }
                    }
                    for directory in before.subtracting(owned) {
                        logger.warning("another daemon syncs the directory now", metadata: ["directory": "\(directory)", "daemon": "\(me)"])
                    }
                    try requests.releaseOrphans()
                }
                for request in try requests.claim(directories: Array(ownership.ownedDirectories).sorted(), by: me) {
                    Task { await serve(request, requests: requests) }
                }
            } catch {
                logger.error("cannot renew this daemon's leases", metadata: ["error": "\(error)", "daemon": "\(me)"])
                session = nil
                // Without renewals the leases lapse: stop acting as their owner before they do.
                ownership.setHeld([:])
                nextRenewal = ContinuousClock.now + .seconds(1)
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        if let session {
            let released = (try? DirectoryLeases(session: session).releaseAll(owner: me)) ?? []
            logger.info("leases released", metadata: ["directories": "\(released)", "daemon": "\(me)"])
            session.close()
        }
    }

    /// Runs (or joins) the sync another daemon handed over and writes its run's id back.
    private func serve(_ request: SyncRequests.Request, requests: SyncRequests) async {
        let sync = SyncRequest(directories: [request.directory], dryRun: request.dryRun, force: request.force, full: request.full, trigger: .api)
        do {
            let reports = try await coordinator.sync(sync)
            try requests.finish(request.id, runID: reports.first?.run.id, error: nil)
        } catch {
            try? requests.finish(request.id, runID: nil, error: "\(error)")
        }
    }
}
